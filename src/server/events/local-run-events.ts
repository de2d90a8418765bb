import type { IterationMetrics } from "../../engine/metrics.js";
import { EventHub } from "../runs/event-hub.js";
import type { RunRecord } from "../store/types.js";
import { ALL_RUNS, type ProgressEvent, type RunEvents } from "./run-events.js";

/** Run updates within one process: by run id and under ALL_RUNS, one object for every subscriber. */
export class RunUpdateHub extends EventHub<RunRecord> {
  publishRun(run: RunRecord): void {
    this.publish(run.id, run);
    this.publish(ALL_RUNS, run);
  }
}

/** RunEvents within one process, for `npm start` on one machine: the trainers and the API share EventHubs. */
export class LocalRunEvents implements RunEvents {
  readonly progress: EventHub<ProgressEvent>;
  readonly updates: RunUpdateHub;
  /** Per run, the iterations published that the store does not hold yet, oldest first. */
  private readonly unstored = new Map<string, IterationMetrics[]>();

  /** @param subscriberBuffer ServiceLimits.subscriberBuffer: events a subscription may hold unread */
  constructor(subscriberBuffer: number) {
    this.progress = new EventHub(subscriberBuffer);
    this.updates = new RunUpdateHub(subscriberBuffer);
  }

  async publishProgress(runId: string, metrics: IterationMetrics): Promise<void> {
    const rows = this.unstored.get(runId) ?? [];
    this.unstored.set(runId, rows);
    rows.push(metrics);
    this.progress.publish(runId, { ...metrics, runId });
  }

  async recentProgress(runId: string, after: number): Promise<IterationMetrics[]> {
    return (this.unstored.get(runId) ?? []).filter((m) => m.iteration > after);
  }

  async progressStored(runId: string, iteration: number): Promise<void> {
    const rows = this.unstored.get(runId)?.filter((m) => m.iteration > iteration) ?? [];
    if (rows.length > 0) this.unstored.set(runId, rows);
    else this.unstored.delete(runId);
  }

  async endProgress(runId: string): Promise<void> {
    this.progress.close(runId);
    // Its status is stored after its last batch: the store holds every iteration now.
    this.unstored.delete(runId);
  }

  async publishRun(run: RunRecord): Promise<void> {
    this.updates.publishRun(run);
  }

  /** Nothing to release: no connections. */
  async close(): Promise<void> {}
}
