import type { Logger } from "pino";
import { ALL_CORES } from "../../engine/backends/threads.js";
import type { CheckpointRecord, RunRecord } from "../store/types.js";
import { runDir, RunExecution, type TrainerContext } from "./run-execution.js";
import { latestResumePoint } from "./resume-point.js";
import { holdCheckpoint } from "./retention.js";
import type { RunQueue } from "./run-queue.js";
import { recordUnrecordedFiles } from "./unrecorded-files.js";

/** How long shutdown waits for a run to reach an iteration boundary before killing its process. */
const SHUTDOWN_GRACE_MS = 30_000;

/**
 * A run's threads when its config names none. The CLI takes every core; here one is
 * left to the server itself (GraphQL, the subscribers' WebSockets, SQLite writes), whose
 * latency suffers first when training saturates every core, and the rest is shared
 * between the runs that may train at once, so that they never oversubscribe the machine.
 */
export function serviceThreads(maxConcurrentRuns: number, cores = ALL_CORES): number {
  return Math.max(1, Math.floor((cores - 1) / maxConcurrentRuns));
}

/**
 * The queue of one server that trains its runs itself: the database's QUEUED runs in
 * queuedAt order, each started in its own process while fewer than
 * `maxConcurrentRuns` train.
 */
export class LocalRunQueue implements RunQueue {
  private readonly active = new Map<string, RunExecution>();
  /** Checkpoints that queued resumed runs start from. */
  private readonly resumeFrom = new Map<string, CheckpointRecord>();
  /** Their holds (retention.ts): retention keeps a queued resume's checkpoint. */
  private readonly held = new Map<string, () => void>();
  private scheduling = Promise.resolve();
  private accepting = true;
  private readonly log: Logger;

  constructor(
    private readonly context: TrainerContext,
    private readonly maxConcurrentRuns: number,
  ) {
    this.log = context.logger;
  }

  /**
   * After a restart: runs that were training when the server died are INTERRUPTED, with
   * the checkpoints and samples it wrote but did not record; queued ones start.
   */
  async start(): Promise<void> {
    const { store, states, dataDir } = this.context;
    for (const run of await store.runsWithStatus(["RUNNING", "STOPPING"])) {
      await recordUnrecordedFiles({ store, dataDir, runDir: runDir(dataDir, run.id), run, log: this.log });
      await states.set(run.id, { status: "INTERRUPTED", finishedAt: new Date(), error: "the server stopped while this run was training" });
    }
    this.schedule();
  }

  async enqueue(run: RunRecord, checkpoint?: CheckpointRecord): Promise<void> {
    if (checkpoint) {
      this.resumeFrom.set(run.id, checkpoint);
      this.held.get(run.id)?.();
      this.held.set(run.id, holdCheckpoint(checkpoint.id));
    }
    this.schedule();
  }

  async requestStop(runId: string): Promise<void> {
    this.active.get(runId)?.stop();
  }

  /** Refuses new runs, stops running ones at an iteration boundary (INTERRUPTED) and waits for them. */
  async close(): Promise<void> {
    this.accepting = false;
    const exits = [...this.active.entries()].map(async ([id, execution]) => {
      execution.interrupt();
      // A process stuck mid-iteration (a huge model, a hung backend) must not hold the server up.
      const deadline = setTimeout(() => {
        this.log.warn({ runId: id, graceMs: SHUTDOWN_GRACE_MS }, "training process did not stop in time; killing it");
        execution.kill();
      }, SHUTDOWN_GRACE_MS);
      await execution.ended;
      clearTimeout(deadline);
      this.log.info({ runId: id }, "run interrupted by shutdown");
    });
    await Promise.all(exits);
    await this.scheduling;
  }

  private schedule(): void {
    this.scheduling = this.scheduling
      .then(async () => {
        while (this.accepting && this.active.size < this.maxConcurrentRuns) {
          const next = await this.context.store.nextQueued();
          // A resumed run whose previous process is still exiting waits for that exit.
          if (!next || this.active.has(next.id)) return;
          await this.launch(next);
        }
      })
      .catch((err: unknown) => this.log.error({ err }, "scheduling failed"));
  }

  private async launch(run: RunRecord): Promise<void> {
    // A queued run that has trained before continues from its chosen checkpoint, or
    // (after a server restart forgot the choice) from its latest one.
    const checkpoint = this.resumeFrom.get(run.id) ?? (await latestResumePoint(this.context.store, run));
    this.resumeFrom.delete(run.id);
    const execution = new RunExecution(this.context, run, checkpoint, serviceThreads(this.maxConcurrentRuns));
    // The execution holds it now.
    this.held.get(run.id)?.();
    this.held.delete(run.id);
    this.active.set(run.id, execution);
    await execution.running;
    void execution.ended.then(() => {
      if (this.active.get(run.id) === execution) this.active.delete(run.id);
      this.schedule();
    });
  }
}
