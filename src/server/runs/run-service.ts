import { rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { Logger } from "pino";
import { ALL_CORES } from "../../engine/backends/threads.js";
import type { TrainConfigInput } from "../../engine/config.js";
import type { IterationMetrics } from "../../engine/metrics.js";
import type { Store } from "../store/store.js";
import { type CheckpointRecord, FINISHED_STATUSES, type RunRecord, type RunStatus, trainerSampleKind } from "../store/types.js";
import { logOutput } from "../training/cli-process.js";
import { TrainingProcess } from "../training/training-process.js";
import type { WorkerMessage } from "../training/protocol.js";
import { InputError } from "../input-error.js";
import type { ServiceLimits } from "../settings.js";
import { EventHub } from "./event-hub.js";
import { MetricsBuffer } from "./metrics-buffer.js";
import { progressHistory } from "./progress-history.js";
import { validateRunConfig } from "./run-validation.js";
import type { SystemFacts } from "./system-facts.js";
import { recordUnrecordedFiles } from "./unrecorded-files.js";

export interface RunServiceOptions {
  store: Store;
  dataDir: string;
  /** Folders dataset paths must resolve into. */
  dataRoots: string[];
  maxConcurrentRuns: number;
  limits: Pick<ServiceLimits, "subscriberBuffer" | "memoryBudgetMb" | "maxQueuedRuns">;
  /** The backends a config may name. */
  system: Pick<SystemFacts, "backends">;
  logger: Logger;
}

/** What a progress stream yields: one iteration. */
export type ProgressEvent = IterationMetrics & { runId: string };

interface ActiveRun {
  process: TrainingProcess;
  metrics: MetricsBuffer;
  /** Set when the server itself stops the run (shutdown): it ends INTERRUPTED. */
  interrupted: boolean;
}

/** How long shutdown waits for a run to reach an iteration boundary before killing its process. */
const SHUTDOWN_GRACE_MS = 30_000;

const RESUMABLE: RunStatus[] = ["STOPPED", "FAILED", "INTERRUPTED"];

/**
 * A run's threads when its config names none. The CLI takes every core; here one is
 * left to the server itself (GraphQL, the subscribers' WebSockets, SQLite writes), whose
 * latency suffers first when training saturates every core, and the rest is shared
 * between the runs that may train at once, so that they never oversubscribe the machine.
 */
export function serviceThreads(maxConcurrentRuns: number, cores = ALL_CORES): number {
  return Math.max(1, Math.floor((cores - 1) / maxConcurrentRuns));
}

/** Where a run's files go under the data folder. */
export function runDir(dataDir: string, id: string): string {
  return join(dataDir, "runs", id);
}

/**
 * Owns runs' lifecycles: queues new runs (validated by run-validation.ts), starts them
 * in training processes up to the concurrency limit, stores what they report and
 * publishes it. `generate` is generator.ts's; the backends and datasets, system-facts.ts's.
 */
export class RunService {
  /** Iterations by run id; ended when the run finishes. */
  readonly progress: EventHub<ProgressEvent>;
  /** Run updates (status, samples, checkpoints) by run id, and all of them under "*". */
  readonly updates: EventHub<RunRecord>;
  private readonly active = new Map<string, ActiveRun>();
  /** Checkpoints that queued resumed runs start from. */
  private readonly resumeFrom = new Map<string, CheckpointRecord>();
  private readonly store: Store;
  private readonly log: Logger;
  private scheduling = Promise.resolve();
  /** Queue admissions, one at a time (see enqueue). */
  private admitting: Promise<unknown> = Promise.resolve();
  private acceptingRuns = true;

  constructor(private readonly options: RunServiceOptions) {
    this.store = options.store;
    this.log = options.logger;
    this.progress = new EventHub(options.limits.subscriberBuffer);
    this.updates = new EventHub(options.limits.subscriberBuffer);
  }

  /**
   * After a restart: runs that were training when the server died are INTERRUPTED, with
   * the checkpoints and samples it wrote but did not record; queued ones start.
   */
  async recover(): Promise<void> {
    for (const run of await this.store.runsWithStatus(["RUNNING", "STOPPING"])) {
      await recordUnrecordedFiles({ store: this.store, dataDir: this.options.dataDir, runDir: this.runDir(run.id), run, log: this.log });
      await this.setStatus(run.id, { status: "INTERRUPTED", finishedAt: new Date(), error: "the server stopped while this run was training" });
    }
    this.schedule();
  }

  async start(input: TrainConfigInput & { name?: string }): Promise<RunRecord> {
    if (!this.acceptingRuns) throw new InputError("startRun", "the server is shutting down");
    const { name, ...configInput } = input;
    const { dataRoots, limits, system } = this.options;
    const validated = await validateRunConfig(configInput, { dataRoots, memoryBudgetMb: limits.memoryBudgetMb, backends: () => system.backends() });
    const config = { ...validated, threads: validated.threads ?? serviceThreads(this.options.maxConcurrentRuns) };
    const run = await this.enqueue("startRun", () => this.store.createRun({ name: name ?? `${config.dataset} ${config.imageSize}px`, config }));
    this.log.info({ runId: run.id, config }, "run queued");
    this.publish(run);
    this.schedule();
    return run;
  }

  async stop(id: string): Promise<RunRecord> {
    const run = await this.get(id);
    if (run.status === "QUEUED") return this.setStatus(id, { status: "STOPPED", finishedAt: new Date() });
    const active = this.active.get(id);
    if (run.status !== "RUNNING" || !active) {
      throw new InputError("id", `run ${id} is ${run.status}: only QUEUED or RUNNING runs can be stopped`);
    }
    active.process.stop();
    return this.setStatus(id, { status: "STOPPING" });
  }

  async resume(id: string, checkpointId?: string): Promise<RunRecord> {
    const run = await this.get(id);
    if (!RESUMABLE.includes(run.status)) {
      throw new InputError("id", `run ${id} is ${run.status}: only STOPPED, FAILED or INTERRUPTED runs can be resumed`);
    }
    const checkpoint = checkpointId
      ? await this.store.getCheckpoint(checkpointId)
      : (await this.store.listCheckpoints(id)).at(-1) ?? null;
    if (!checkpoint || checkpoint.runId !== id) {
      throw new InputError("checkpointId", checkpointId ? `no checkpoint ${checkpointId} in run ${id}` : `run ${id} has no checkpoint to resume from`);
    }
    const queued = await this.enqueue("resumeRun", () => {
      this.resumeFrom.set(id, checkpoint);
      return this.setStatus(id, { status: "QUEUED", queuedAt: new Date(), error: null, finishedAt: null });
    });
    this.schedule();
    return queued;
  }

  /**
   * Adds a run to the queue (`admit` stores it QUEUED) unless MAX_QUEUED_RUNS already
   * wait there. One admission at a time, so that requests arriving together cannot all
   * see room for one more.
   */
  private enqueue<T>(operation: "startRun" | "resumeRun", admit: () => Promise<T>): Promise<T> {
    const admitted = this.admitting.then(async () => {
      const max = this.options.limits.maxQueuedRuns;
      if ((await this.store.countQueued()) >= max) {
        throw new InputError(operation, `${max} runs are already waiting QUEUED, the most MAX_QUEUED_RUNS allows: try again when one has started, or stop one`);
      }
      return admit();
    });
    this.admitting = admitted.catch(() => undefined);
    return admitted;
  }

  async delete(id: string): Promise<void> {
    const run = await this.get(id);
    if (!FINISHED_STATUSES.includes(run.status)) throw new InputError("id", `run ${id} is ${run.status}: stop it before deleting it`);
    await this.store.deleteRun(id);
    await rm(this.runDir(id), { recursive: true, force: true });
    this.log.info({ runId: id }, "run deleted");
  }

  /**
   * Up to `limit` iterations after `after` that are stored or waiting to be, in order;
   * fewer only when there are no more yet.
   */
  storedProgress(runId: string, after: number, limit: number): Promise<IterationMetrics[]> {
    return progressHistory(
      { pending: () => this.active.get(runId)?.metrics.pending() ?? [], stored: (from, take) => this.store.metricsAfter(runId, from, take) },
      after,
      limit,
    );
  }

  activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  get maxConcurrentRuns(): number {
    return this.options.maxConcurrentRuns;
  }

  /** Refuses new runs, stops running ones at an iteration boundary (INTERRUPTED) and waits for them. */
  async shutdown(): Promise<void> {
    this.acceptingRuns = false;
    const exits = [...this.active.entries()].map(([id, run]) => {
      run.interrupted = true;
      run.process.stop();
      // A process stuck mid-iteration (a huge model, a hung backend) must not hold the server up.
      const deadline = setTimeout(() => {
        this.log.warn({ runId: id, graceMs: SHUTDOWN_GRACE_MS }, "training process did not stop in time; killing it");
        run.process.kill();
      }, SHUTDOWN_GRACE_MS);
      return new Promise<void>((done) => run.process.once("exit", () => done())).then(() => {
        clearTimeout(deadline);
        this.log.info({ runId: id }, "run interrupted by shutdown");
      });
    });
    await Promise.all(exits);
    await this.scheduling;
  }

  private async get(id: string): Promise<RunRecord> {
    const run = await this.store.getRun(id);
    if (!run) throw new InputError("id", `no run ${id}`);
    return run;
  }

  private schedule(): void {
    this.scheduling = this.scheduling
      .then(async () => {
        while (this.acceptingRuns && this.active.size < this.options.maxConcurrentRuns) {
          const next = await this.store.nextQueued();
          // A resumed run whose previous process is still exiting waits for that exit.
          if (!next || this.active.has(next.id)) return;
          await this.launch(next);
        }
      })
      .catch((err: unknown) => this.log.error({ err }, "scheduling failed"));
  }

  private async launch(run: RunRecord): Promise<void> {
    // The training process creates the folder: one that cannot be written fails the run, not the server.
    const outDir = this.runDir(run.id);
    // A queued run that has trained before continues from its chosen checkpoint, or
    // (after a server restart forgot the choice) from its latest one.
    const checkpoint = this.resumeFrom.get(run.id) ?? (await this.store.listCheckpoints(run.id)).at(-1);
    this.resumeFrom.delete(run.id);
    const process = new TrainingProcess({
      type: "start",
      // Runs stored before the threads setting take the service's default too.
      config: { ...run.config, threads: run.config.threads ?? serviceThreads(this.options.maxConcurrentRuns) },
      outDir,
      resumeFrom: checkpoint ? this.absolute(checkpoint.path) : undefined,
      // Checked again while training: a link added after startRun must not lead out either.
      dataRoots: this.options.dataRoots,
    });
    const metrics = new MetricsBuffer(this.store, run.id, (err) => this.log.error({ err, runId: run.id }, "storing metrics failed"));
    const active: ActiveRun = { process, metrics, interrupted: false };
    this.active.set(run.id, active);
    await this.setStatus(run.id, { status: "RUNNING", startedAt: run.startedAt ?? new Date(), error: null });
    this.log.info({ runId: run.id, resumeFrom: checkpoint?.iteration }, "run started");
    // Messages are handled one at a time, in order, so status and files never race.
    let handling = Promise.resolve();
    let failure: string | undefined;
    process.on("output", (line) => logOutput(this.log, line, { runId: run.id }));
    process.on("message", (message) => {
      if (message.type === "failed") failure = message.error;
      handling = handling.then(() => this.handle(run.id, active, message)).catch((err: unknown) => this.log.error({ err, runId: run.id }, "handling a training message failed"));
    });
    process.on("exit", (error) => {
      handling = handling.then(async () => {
        await metrics.flush();
        const current = await this.store.getRun(run.id);
        if (current && (current.status === "RUNNING" || current.status === "STOPPING")) {
          const message = failure ?? error ?? "training process ended unexpectedly";
          // Killed by a shutdown that could not wait: resumable from its latest checkpoint like any interrupted run.
          const status: RunStatus = active.interrupted && !failure ? "INTERRUPTED" : "FAILED";
          await this.setStatus(run.id, { status, finishedAt: new Date(), error: message });
          this.log.error({ runId: run.id, status, error: message }, "run ended without finishing");
        }
        if (this.active.get(run.id) === active) this.active.delete(run.id);
        this.schedule();
      });
    });
  }

  private async handle(runId: string, active: ActiveRun, message: WorkerMessage): Promise<void> {
    switch (message.type) {
      case "started":
        await this.setStatus(runId, {
          backend: message.backend,
          backendDetail: message.backendDetail,
          dataset: message.dataset,
          totalIterations: message.totalIterations,
          batchesPerEpoch: message.batchesPerEpoch,
        });
        return;
      case "iteration":
        active.metrics.add(message.metrics);
        this.progress.publish(runId, { ...message.metrics, runId });
        return;
      case "sample":
        await this.store.addSample({
          runId,
          iteration: message.iteration,
          epoch: message.epoch,
          kind: trainerSampleKind(message.kind),
          bytes: message.bytes,
          path: relative(this.options.dataDir, message.path),
        });
        this.publish(await this.get(runId));
        return;
      case "checkpoint":
        // Its iterations' metrics first: a recorded checkpoint never lies past the stored metrics.
        await active.metrics.flush();
        await this.store.addCheckpoint({ runId, iteration: message.iteration, epoch: message.epoch, bytes: message.bytes, path: relative(this.options.dataDir, message.path) });
        this.publish(await this.get(runId));
        return;
      case "finished": {
        await active.metrics.flush();
        const status: RunStatus = message.status === "completed" ? "COMPLETED" : active.interrupted ? "INTERRUPTED" : "STOPPED";
        await this.setStatus(runId, { status, finishedAt: new Date(), iteration: message.iteration, epoch: message.epoch });
        this.log.info({ runId, status, iteration: message.iteration }, "run finished");
        return;
      }
      case "failed":
        return;
    }
  }

  private async setStatus(id: string, patch: Parameters<Store["updateRun"]>[1]): Promise<RunRecord> {
    const run = await this.store.updateRun(id, patch);
    this.publish(run);
    // Progress streams end with the run, not with its process: a resumed run may already
    // have new subscribers while the old process exits.
    if (FINISHED_STATUSES.includes(run.status)) this.progress.close(id);
    return run;
  }

  private publish(run: RunRecord): void {
    this.updates.publish(run.id, run);
    this.updates.publish("*", run);
  }

  private runDir(id: string): string {
    return runDir(this.options.dataDir, id);
  }

  private absolute(path: string): string {
    return resolve(this.options.dataDir, path);
  }
}

