// The seam between whoever trains a run and whoever watches it. In-process
// (local-run-events.ts) for `npm start` on one machine; on Redis (redis-run-events.ts)
// when trainers and API replicas are separate processes on separate machines.
import type { IterationMetrics } from "../../engine/metrics.js";
import type { LiveSource } from "../runs/live-tail.js";
import type { RunRecord } from "../store/types.js";

/** What a progress stream yields: one iteration. */
export type ProgressEvent = IterationMetrics & { runId: string };

/** Run updates of every run are published under this key as well as under the run's id. */
export const ALL_RUNS = "*";

export interface RunEvents {
  /**
   * Live iterations by run id, for live-tail.ts: buffered from the moment the
   * subscription is ready (`subscribe` returns, or its `ready` resolves), each live event
   * one object for every subscriber of this process. A run's streams end after
   * `endProgress`, once every iteration published before it is read.
   */
  readonly progress: LiveSource<ProgressEvent>;
  /** Run records as they change, by run id and under ALL_RUNS; buffered once the subscription is ready, as progress. */
  readonly updates: LiveSource<RunRecord>;

  /** One iteration of a run, from the process that trains it; resolves once subscribers anywhere can read it. */
  publishProgress(runId: string, metrics: IterationMetrics): Promise<void>;
  /**
   * Iterations published after `after` that the store may not hold yet, ascending (all
   * of them, or up to a cap that outlasts a metrics batch: see each implementation).
   * With the store's rows, a reader has every iteration published so far.
   */
  recentProgress(runId: string, after: number): Promise<IterationMetrics[]>;
  /** The store holds the run's iterations up to `iteration`: what recentProgress keeps for them may go. */
  progressStored(runId: string, iteration: number): Promise<void>;
  /** The run has finished (its status is stored first): its progress streams end everywhere. */
  endProgress(runId: string): Promise<void>;

  /** A run's new state, to its subscribers and ALL_RUNS' everywhere. */
  publishRun(run: RunRecord): Promise<void>;

  close(): Promise<void>;
}
