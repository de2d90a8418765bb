import { join, relative, resolve } from "node:path";
import type { Logger } from "pino";
import type { RunEvents } from "../events/run-events.js";
import type { Store } from "../store/store.js";
import { type CheckpointRecord, type RunRecord, type RunStatus, trainerSampleKind } from "../store/types.js";
import { logOutput } from "../training/cli-process.js";
import type { WorkerMessage } from "../training/protocol.js";
import { TrainingProcess } from "../training/training-process.js";
import { MetricsBuffer } from "./metrics-buffer.js";
import { enforceRetention, holdCheckpoint } from "./retention.js";
import { retrying } from "./retry.js";
import type { RunStates } from "./run-states.js";

/** What training a run needs, wherever it trains: the server itself, or a `dcgan worker`. */
export interface TrainerContext {
  store: Store;
  events: RunEvents;
  states: RunStates;
  /** Checkpoints and samples go under `<dataDir>/runs/<id>`; paths are stored relative to it. */
  dataDir: string;
  /** Folders dataset paths must resolve into. */
  dataRoots: string[];
  logger: Logger;
}

/** How a run's training ended, as this execution saw it. */
export type ExecutionEnd = "finished" | "interrupted" | "failed" | "abandoned" | "handed-over";

/** Where a run's files go under the data folder. */
export function runDir(dataDir: string, id: string): string {
  return join(dataDir, "runs", id);
}

/**
 * One run training in its own process (training/training-process.ts): marks it RUNNING,
 * stores and publishes what the process reports (metrics in batches, samples,
 * checkpoints), and records how it ended. Messages are handled one at a time, in order,
 * so status and files never race.
 */
export class RunExecution {
  /** Resolves once the run is stored RUNNING (so it is no longer the queue's next). */
  readonly running: Promise<void>;
  /** Resolves when the process has exited and its end is recorded. */
  readonly ended: Promise<ExecutionEnd>;
  private readonly process: TrainingProcess;
  private readonly metrics: MetricsBuffer;
  /** Set when the trainer itself stops the run (its server or worker shutting down): it ends INTERRUPTED. */
  private interrupted = false;
  /** Set by `handOver`: the run stops here to go on elsewhere, QUEUED rather than finished. */
  private handingOver = false;
  /** Set by `abandon`: what the process reported is not recorded any more. */
  private abandoned = false;
  private handling: Promise<unknown> = Promise.resolve();

  /**
   * @param checkpoint where a run that has trained before continues
   * @param threads the CPU threads its kernels use, when its config names none
   */
  constructor(
    private readonly context: TrainerContext,
    private readonly run: RunRecord,
    checkpoint: CheckpointRecord | undefined,
    threads: number,
  ) {
    const { store, events, logger, dataDir } = context;
    this.metrics = new MetricsBuffer(store, run.id, {
      onStored: (iteration) => events.progressStored(run.id, iteration),
      onError: (err) => logger.warn({ err, runId: run.id }, "storing metrics failed"),
    });
    this.process = new TrainingProcess({
      type: "start",
      config: { ...run.config, threads: run.config.threads ?? threads },
      // The training process creates the folder: one that cannot be written fails the run, not the server.
      outDir: runDir(dataDir, run.id),
      resumeFrom: checkpoint ? resolve(dataDir, checkpoint.path) : undefined,
      // A forked run's first start is from its parent's checkpoint.
      fork: checkpoint !== undefined && checkpoint.runId !== run.id,
      // Checked again while training: a link added after startRun must not lead out either.
      dataRoots: context.dataRoots,
    });
    this.running = new Promise((done) =>
      this.chain(async () => {
        const patch = { status: "RUNNING" as const, startedAt: run.startedAt ?? new Date(), error: null };
        // QUEUED, or RUNNING where a worker takes over a run whose worker was lost. A stop
        // that came meanwhile (STOPPING) reaches the process now.
        if (!(await context.states.transition(run.id, ["QUEUED", "RUNNING"], patch))) this.stop();
      }).finally(done),
    );
    logger.info({ runId: run.id, resumeFrom: checkpoint?.iteration }, "run started");
    let failure: string | undefined;
    this.process.on("output", (line) => logOutput(logger, line, { runId: run.id }));
    this.process.on("message", (message) => {
      if (message.type === "failed") failure = message.error;
      this.chain(() => this.handle(message));
    });
    // The checkpoint it continues from stays while it trains (retention.ts), should it have to start again from it.
    const release = checkpoint ? holdCheckpoint(checkpoint.id) : () => {};
    this.ended = new Promise((done) => {
      this.process.on("exit", (error) => {
        release();
        void this.chain(async () => {
          await this.metrics.flush();
          const current = await store.getRun(run.id);
          if (current && (current.status === "RUNNING" || current.status === "STOPPING")) {
            const message = failure ?? error ?? "training process ended unexpectedly";
            // Killed by a shutdown that could not wait: resumable from its latest checkpoint like any interrupted run.
            const status: RunStatus = this.interrupted && !failure ? "INTERRUPTED" : "FAILED";
            await context.states.set(run.id, { status, finishedAt: new Date(), error: message });
            logger.error({ runId: run.id, status, error: message }, "run ended without finishing");
          }
        }).then(async () => {
          if (this.abandoned) return done("abandoned");
          const end = (await store.getRun(run.id).catch(() => null))?.status;
          done(end === "QUEUED" ? "handed-over" : end === "INTERRUPTED" ? "interrupted" : end === "FAILED" ? "failed" : "finished");
        });
      });
    });
  }

  /** Stops at the next iteration boundary, with a checkpoint and a sample (a user's stopRun). */
  stop(): void {
    this.process.stop();
  }

  /** Stops like `stop`, but the run ends INTERRUPTED: its trainer is going away, not its user. */
  interrupt(): void {
    this.interrupted = true;
    this.process.stop();
  }

  kill(): void {
    this.process.kill();
  }

  /**
   * Stops like `stop`, and the run goes back to QUEUED instead of finishing, its progress
   * streams open: its trainer is going away, and another is to continue it (a worker's close).
   */
  handOver(): void {
    this.handingOver = true;
    this.process.stop();
  }

  /**
   * Kills the process and records nothing more: the run is no longer this trainer's (a
   * worker cut off from Redis past its lock, whose run another worker has taken over).
   */
  abandon(): void {
    this.abandoned = true;
    this.metrics.discard();
    this.process.kill();
  }

  /**
   * Runs `step` after the previous ones. A step that fails (the database restarting) is
   * tried again (retry.ts) before the next, so nothing a run reports is skipped or
   * reordered; every step is safe to repeat.
   */
  private chain(step: () => Promise<unknown>): Promise<unknown> {
    const { logger } = this.context;
    const runId = this.run.id;
    this.handling = this.handling
      .then(() => (this.abandoned ? undefined : retrying(step, (err) => logger.warn({ err, runId }, "recording what the run reported failed; trying again"))))
      .catch((err: unknown) => logger.error({ err, runId }, "handling a training message failed"));
    return this.handling;
  }

  private async handle(message: WorkerMessage): Promise<void> {
    const { store, events, states, dataDir, logger } = this.context;
    const runId = this.run.id;
    switch (message.type) {
      case "started":
        await states.set(runId, {
          backend: message.backend,
          backendDetail: message.backendDetail,
          dataset: message.dataset,
          totalIterations: message.totalIterations,
          batchesPerEpoch: message.batchesPerEpoch,
        });
        return;
      case "iteration":
        // Published first: recentProgress holds it until the store does. Added last, so a retried step adds it once.
        await events.publishProgress(runId, message.metrics);
        this.metrics.add(message.metrics);
        return;
      case "sample":
        await store.addSample({
          runId,
          iteration: message.iteration,
          epoch: message.epoch,
          kind: trainerSampleKind(message.kind),
          bytes: message.bytes,
          path: relative(dataDir, message.path),
          diversity: message.diversity ?? null,
        });
        await states.publish(runId);
        return;
      case "checkpoint":
        // Its iterations' metrics first: a recorded checkpoint never lies past the stored metrics.
        await this.metrics.flush();
        await store.addCheckpoint({ runId, iteration: message.iteration, epoch: message.epoch, bytes: message.bytes, path: relative(dataDir, message.path) });
        // Older checkpoints outside the run's keepCheckpoints go; a failure leaves them for the next one.
        await enforceRetention(this.context, this.run).catch((err: unknown) => logger.warn({ err, runId }, "checkpoint retention failed"));
        await states.publish(runId);
        return;
      case "finished": {
        await this.metrics.flush();
        const progress = { iteration: message.iteration, epoch: message.epoch };
        // Unless its user stopped it meanwhile (STOPPING): then it stops, as asked.
        if (this.handingOver && message.status === "stopped") {
          const queued = await states.transition(runId, ["RUNNING"], { status: "QUEUED", queuedAt: new Date(), ...progress });
          if (queued) {
            logger.info({ runId, iteration: message.iteration }, "run handed over: queued again, to continue from its checkpoint");
            return;
          }
        }
        const status: RunStatus = message.status === "completed" ? "COMPLETED" : this.interrupted ? "INTERRUPTED" : "STOPPED";
        await states.set(runId, { status, finishedAt: new Date(), ...progress });
        logger.info({ runId, status, iteration: message.iteration }, "run finished");
        return;
      }
      case "failed":
        return;
    }
  }
}
