import { rm } from "node:fs/promises";
import type { Logger } from "pino";
import { FORK_FIXED, type TrainConfigInput } from "../../engine/config.js";
import type { IterationMetrics } from "../../engine/metrics.js";
import type { RunEvents } from "../events/run-events.js";
import type { Store } from "../store/store.js";
import { type CheckpointRecord, FINISHED_STATUSES, type NewRun, type RunRecord, type RunStatus } from "../store/types.js";
import { InputError, InputErrors } from "../input-error.js";
import type { ServiceLimits } from "../settings.js";
import { progressHistory } from "./progress-history.js";
import { latestResumePoint } from "./resume-point.js";
import { holdCheckpoint, KEEP_ALL, type KeepCheckpoints, validateKeepCheckpoints } from "./retention.js";
import { runDir } from "./run-execution.js";
import type { RunQueue } from "./run-queue.js";
import type { RunStates } from "./run-states.js";
import { validateRunConfig } from "./run-validation.js";
import type { SystemFacts } from "./system-facts.js";

export interface RunServiceOptions {
  store: Store;
  events: RunEvents;
  states: RunStates;
  /** Where queued runs wait, and how a stop reaches the run's trainer. */
  queue: RunQueue;
  dataDir: string;
  /** Folders dataset paths must resolve into. */
  dataRoots: string[];
  /** A run's threads when its config names none (see serviceThreads). */
  defaultThreads: number;
  limits: Pick<ServiceLimits, "memoryBudgetMb" | "maxQueuedRuns">;
  /** The backends a config may name. */
  system: Pick<SystemFacts, "backends">;
  logger: Logger;
  /** Checkpoint retention of runs that name none (KEEP_CHECKPOINTS; default: keep all). */
  keepCheckpoints?: KeepCheckpoints;
}

export const RESUMABLE: RunStatus[] = ["STOPPED", "FAILED", "INTERRUPTED"];

/** What a new run is made of: startRun's input. */
export type NewRunInput = TrainConfigInput & { name?: string; keepCheckpoints?: Partial<KeepCheckpoints> };

/** The operations that add runs to the queue, named in their refusals. */
type AdmitOperation = "startRun" | "forkRun" | "startSweep";

/**
 * What clients ask of runs: queues new runs (validated by run-validation.ts) and resumed
 * ones, stops and deletes them, and reads their progress. Training itself is the
 * queue's (run-queue.ts); `generate` is generator.ts's; the backends and datasets,
 * system-facts.ts's.
 */
export class RunService {
  private readonly store: Store;
  private readonly log: Logger;
  /** Queue admissions, one at a time (see enqueue). */
  private admitting: Promise<unknown> = Promise.resolve();
  private acceptingRuns = true;

  constructor(private readonly options: RunServiceOptions) {
    this.store = options.store;
    this.log = options.logger;
  }

  async start(input: NewRunInput): Promise<RunRecord> {
    const [run] = await this.admitNew("startRun", [await this.prepare(input)]);
    this.log.info({ runId: run!.id, config: run!.config }, "run queued");
    return run!;
  }

  /** A new run's name, validated config and retention, refused with every invalid field at once; stores nothing. */
  async prepare(input: NewRunInput): Promise<NewRun> {
    const { name, keepCheckpoints, ...configInput } = input;
    const keep = keepCheckpoints ? validateKeepCheckpoints(keepCheckpoints) : (this.options.keepCheckpoints ?? KEEP_ALL);
    const validated = await this.validate(configInput);
    const config = { ...validated, threads: validated.threads ?? this.options.defaultThreads };
    return { name: name ?? `${config.dataset} ${config.imageSize}px`, config, keep };
  }

  async stop(id: string): Promise<RunRecord> {
    const { states, queue } = this.options;
    // Conditional, since a trainer may take the run meanwhile: then it is stopped there.
    const dequeued = await states.transition(id, ["QUEUED"], { status: "STOPPED", finishedAt: new Date() });
    if (dequeued) return dequeued;
    const stopping = await states.transition(id, ["RUNNING"], { status: "STOPPING" });
    if (!stopping) {
      const run = await this.get(id);
      throw new InputError("id", `run ${id} is ${run.status}: only QUEUED or RUNNING runs can be stopped`);
    }
    await queue.requestStop(id);
    return stopping;
  }

  async resume(id: string, checkpointId?: string): Promise<RunRecord> {
    const run = await this.get(id);
    if (!RESUMABLE.includes(run.status)) {
      throw new InputError("id", `run ${id} is ${run.status}: only STOPPED, FAILED or INTERRUPTED runs can be resumed`);
    }
    const [queued] = await this.requeue("resumeRun", [await this.resumption(run, checkpointId)]);
    if (!queued) throw new InputError("id", `run ${id} changed while being resumed: try again`);
    return queued;
  }

  /**
   * Resumes `runs` as resumeRun does, each from its latest checkpoint, admitted together
   * (or none, when the queue has no room for all); those whose status changed meanwhile
   * are left as they are. The runs queued.
   */
  async resumeAll(operation: "resumeSweep", runs: RunRecord[]): Promise<RunRecord[]> {
    const resumptions = [];
    for (const run of runs) resumptions.push(await this.resumption(run));
    return this.requeue(operation, resumptions);
  }

  /** Where `run` continues from: the named checkpoint, else its latest; none: from the beginning. */
  private async resumption(run: RunRecord, checkpointId?: string): Promise<{ run: RunRecord; checkpoint?: CheckpointRecord }> {
    const checkpoint = (checkpointId ? await this.store.getCheckpoint(checkpointId) : await latestResumePoint(this.store, run)) ?? undefined;
    if (checkpointId && checkpoint?.runId !== run.id) throw new InputError("checkpointId", `no checkpoint ${checkpointId} in run ${run.id}`);
    // A fork's iterations are numbered after its parent's checkpoint: without one, it cannot train at all.
    if (!checkpoint && run.forkIteration !== null) throw new InputError("id", `run ${run.id} is a fork whose parent's checkpoint is gone: it has no checkpoint to resume from`);
    return { run, checkpoint };
  }

  /** Puts resumable runs back in the queue, together; those no longer resumable are skipped. */
  private requeue(operation: "resumeRun" | "resumeSweep", resumptions: { run: RunRecord; checkpoint?: CheckpointRecord }[]): Promise<RunRecord[]> {
    return this.enqueue(operation, resumptions.length, async () => {
      const queued: RunRecord[] = [];
      for (const { run, checkpoint } of resumptions) {
        // Without a checkpoint (stopped or interrupted before its first), the run trains again from the beginning.
        const restart = checkpoint ? {} : { iteration: 0, epoch: 0 };
        const requeued = await this.options.states.transition(run.id, RESUMABLE, { status: "QUEUED", queuedAt: new Date(), error: null, finishedAt: null, ...restart });
        if (!requeued) continue;
        await this.options.queue.enqueue(requeued, checkpoint);
        queued.push(requeued);
      }
      return queued;
    });
  }

  /**
   * A new run from a checkpoint's weights and optimizer state, with `changes` over its
   * run's config (validated like startRun's), numbered on from the checkpoint's
   * iteration. What a checkpoint fixes (FORK_FIXED: the shapes, the dataset, the seed)
   * cannot change: a different value is refused, naming the field.
   */
  async fork(checkpointId: string, changes: Partial<TrainConfigInput>, name?: string): Promise<RunRecord> {
    // Retention keeps the checkpoint while the fork is made (in this process; then the fork's forkIteration keeps it).
    const release = holdCheckpoint(checkpointId);
    return this.forkHeld(checkpointId, changes, name).finally(release);
  }

  private async forkHeld(checkpointId: string, changes: Partial<TrainConfigInput>, name?: string): Promise<RunRecord> {
    const checkpoint = await this.store.getCheckpoint(checkpointId);
    if (!checkpoint) throw new InputError("checkpointId", `no checkpoint ${checkpointId}`);
    const parent = await this.get(checkpoint.runId);
    const given = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined && v !== null)) as Partial<TrainConfigInput>;
    const fixed = { ...Object.fromEntries(FORK_FIXED.map((f) => [f, f])), dataPath: "dataset.path", dataset: "dataset.kind" } as Record<string, string>;
    InputErrors.throwIfAny(
      Object.entries(given)
        .filter(([field, value]) => fixed[field] !== undefined && value !== parent.config[field as keyof TrainConfigInput])
        .map(([field, value]) => new InputError(fixed[field]!, `is ${String(value)} but the checkpoint was trained with ${String(parent.config[field as keyof TrainConfigInput])}: a fork keeps the networks' shapes and the data`)),
    );
    const input: TrainConfigInput = { ...parent.config, ...given };
    // Epochs given without iterations: the parent's iterations no longer count.
    if (given.epochs !== undefined && given.iterations === undefined) delete input.iterations;
    const config = await this.validate(input);
    if (config.iterations !== undefined && config.iterations <= checkpoint.iteration) {
      throw new InputError("iterations", `must be more than the checkpoint's iteration, ${checkpoint.iteration}`);
    }
    const fork = { parentRunId: parent.id, iteration: checkpoint.iteration, epoch: checkpoint.epoch };
    const [run] = await this.admitNew("forkRun", [{ name: name ?? `${parent.name} fork@${checkpoint.iteration}`, config, fork }], undefined, checkpoint);
    this.log.info({ runId: run!.id, parentRunId: parent.id, forkIteration: checkpoint.iteration, config }, "forked run queued");
    return run!;
  }

  private validate(input: TrainConfigInput): ReturnType<typeof validateRunConfig> {
    const { dataRoots, limits, system } = this.options;
    return validateRunConfig(input, { dataRoots, memoryBudgetMb: limits.memoryBudgetMb, backends: () => system.backends() });
  }

  /**
   * New runs, admitted together (or refused, none stored), stored QUEUED by `create`
   * (default: one by one), announced and queued in order; from `checkpoint` when given (a fork).
   */
  async admitNew(
    operation: AdmitOperation,
    runs: NewRun[],
    create: (runs: NewRun[]) => Promise<RunRecord[]> = (each) => Promise.all(each.map((r) => this.store.createRun(r))),
    checkpoint?: CheckpointRecord,
  ): Promise<RunRecord[]> {
    if (!this.acceptingRuns) throw new InputError(operation, "the server is shutting down");
    return this.enqueue(operation, runs.length, async () => {
      const created = await create(runs);
      for (const run of created) {
        // Published before a trainer can take it, so that QUEUED never arrives after RUNNING.
        await this.options.events.publishRun(run);
        await this.options.queue.enqueue(run, checkpoint);
      }
      return created;
    });
  }

  /**
   * Adds `count` runs to the queue (`admit` stores them QUEUED) unless that would put
   * more than MAX_QUEUED_RUNS there. One admission at a time, so that requests arriving
   * together cannot all see room for one more.
   */
  private enqueue<T>(operation: AdmitOperation | "resumeRun" | "resumeSweep", count: number, admit: () => Promise<T>): Promise<T> {
    const admitted = this.admitting.then(async () => {
      const max = this.options.limits.maxQueuedRuns;
      const waiting = await this.store.countQueued();
      if (waiting + count > max) {
        throw new InputError(
          operation,
          count === 1
            ? `${max} runs are already waiting QUEUED, the most MAX_QUEUED_RUNS allows: try again when one has started, or stop one`
            : `its ${count} runs would join ${waiting} already waiting QUEUED, more than MAX_QUEUED_RUNS (${max}) allows: try again when fewer wait, or make fewer runs`,
        );
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
    await rm(runDir(this.options.dataDir, id), { recursive: true, force: true });
    this.log.info({ runId: id }, "run deleted");
  }

  /**
   * Up to `limit` iterations after `after` that are stored or published to be, in order;
   * fewer only when there are no more yet.
   */
  storedProgress(runId: string, after: number, limit: number): Promise<IterationMetrics[]> {
    return progressHistory(
      { recent: (from) => this.options.events.recentProgress(runId, from), stored: (from, take) => this.store.metricsAfter(runId, from, take) },
      after,
      limit,
    );
  }

  /** Refuses new runs; runs training in this process end INTERRUPTED at an iteration boundary. */
  async shutdown(): Promise<void> {
    this.acceptingRuns = false;
    await this.options.queue.close();
  }

  private async get(id: string): Promise<RunRecord> {
    const run = await this.store.getRun(id);
    if (!run) throw new InputError("id", `no run ${id}`);
    return run;
  }
}
