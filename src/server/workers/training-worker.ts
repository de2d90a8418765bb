import { type Job, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { runDir, RunExecution, type TrainerContext } from "../runs/run-execution.js";
import { latestResumePoint } from "../runs/resume-point.js";
import { recordUnrecordedFiles } from "../runs/unrecorded-files.js";
import type { CheckpointRecord, RunRecord } from "../store/types.js";
import { BullmqRunQueue } from "./bullmq-run-queue.js";
import { RUN_QUEUE, type RunJob, runIdOfJob, type StallSettings, STOP_CHANNEL } from "./run-jobs.js";
import { newWorkerId, startHeartbeat } from "./worker-registry.js";

export interface TrainingWorkerOptions {
  context: TrainerContext;
  redisUrl: string;
  /** Runs trained at once (one per GPU, say). */
  concurrency: number;
  /** A run's CPU threads when its config names none. */
  threads: number;
  stalls: StallSettings;
  /** The backend AUTO picks here, for the workers list. */
  backend: { name: string; detail: string };
}

/**
 * Takes runs from the BullMQ queue and trains each in its own process (RunExecution),
 * up to `concurrency` at once: in `dcgan worker`, or in a server that trains.
 *
 * - BullMQ renews the job's lock while the run trains (the training is in a child
 *   process, so this event loop stays free to do it). A worker that disappears stops
 *   renewing; after `stalls.lockMs` another worker's stalled check puts the job back,
 *   and whoever takes it continues the run from its newest checkpoint, with the same
 *   iteration numbering. Past `stalls.maxStalls` takeovers the job fails, and so does the run.
 * - Stops arrive on STOP_CHANNEL; the worker that trains the run stops it.
 * - On close, runs stop at an iteration boundary with a checkpoint and join the queue
 *   again, for another worker to continue.
 */
export class TrainingWorker {
  readonly id = newWorkerId();
  private readonly active = new Map<string, RunExecution>();
  /** When each run's hold (its job's lock) was last renewed: a run not renewed for a whole lock may be another worker's by now. */
  private readonly renewedAt = new Map<string, number>();
  private readonly watchdog: NodeJS.Timeout;
  private readonly worker: Worker<RunJob>;
  private readonly queueEvents: QueueEvents;
  private readonly subscriber: Redis;
  private readonly redis: Redis;
  /** Where runs interrupted by this worker's close go back to. */
  private readonly requeue: BullmqRunQueue;
  private readonly heartbeat: { beat(): void; stop(): Promise<void> };
  private readonly startedAt = new Date();
  private readonly log: Logger;

  constructor(private readonly options: TrainingWorkerOptions) {
    const { redisUrl, concurrency, stalls, context } = options;
    this.log = context.logger.child({ workerId: this.id });
    this.requeue = new BullmqRunQueue(redisUrl);
    this.redis = new Redis(redisUrl);
    this.subscriber = new Redis(redisUrl);
    this.subscriber.on("message", (_channel: string, runId: string) => this.active.get(runId)?.stop());
    void this.subscriber.subscribe(STOP_CHANNEL);
    this.queueEvents = new QueueEvents(RUN_QUEUE, { connection: { url: redisUrl } });
    this.queueEvents.on("failed", ({ jobId, failedReason }) => void this.failRunOfFailedJob(runIdOfJob(jobId), failedReason));
    this.worker = new Worker<RunJob>(RUN_QUEUE, (job) => this.train(job), {
      // BullMQ's blocking reads need commands that wait for a reconnect rather than fail.
      connection: { url: redisUrl, maxRetriesPerRequest: null },
      concurrency,
      lockDuration: stalls.lockMs,
      stalledInterval: stalls.stalledIntervalMs,
      maxStalledCount: stalls.maxStalls,
    });
    this.worker.on("error", (err) => this.log.error({ err }, "worker error"));
    this.worker.on("locksRenewed", ({ jobIds }) => jobIds.forEach((jobId) => this.renewedAt.set(runIdOfJob(jobId), Date.now())));
    this.worker.on("lockRenewalFailed", (jobIds) => jobIds.forEach((jobId) => this.abandon(runIdOfJob(jobId), "its lock could not be renewed")));
    // Cut off from Redis, renewals neither succeed nor fail: they wait. Past a whole lock
    // another worker may train the run, so this one stops recording it (a fence).
    this.watchdog = setInterval(() => {
      for (const runId of this.active.keys()) {
        if (Date.now() - (this.renewedAt.get(runId) ?? 0) > stalls.lockMs) this.abandon(runId, `its lock was not renewed for ${stalls.lockMs} ms`);
      }
    }, stalls.lockMs / 4);
    this.worker.on("stalled", (jobId) => this.log.warn({ runId: runIdOfJob(jobId) }, "a run's worker was lost; the run goes back to the queue"));
    this.heartbeat = startHeartbeat(
      this.redis,
      () => ({
        id: this.id,
        host: hostname(),
        backend: options.backend.name,
        backendDetail: options.backend.detail,
        concurrency,
        runIds: [...this.active.keys()],
        startedAt: this.startedAt,
      }),
      (err) => this.log.warn({ err }, "heartbeat failed"),
    );
    this.log.info({ concurrency }, "worker taking runs");
  }

  /** Stops taking runs; running ones stop at an iteration boundary and go back to the queue. */
  async close(): Promise<void> {
    clearInterval(this.watchdog);
    for (const execution of this.active.values()) execution.handOver();
    await this.worker.close();
    await this.heartbeat.stop();
    await Promise.all([this.queueEvents.close(), this.requeue.close(), this.subscriber.quit(), this.redis.quit()]);
  }

  private async train(job: Job<RunJob>): Promise<void> {
    const { store, states, dataDir } = this.options.context;
    const run = await store.getRun(job.data.runId);
    // Stopped or deleted while it waited: nothing to do.
    if (!run || (run.status !== "QUEUED" && run.status !== "RUNNING" && run.status !== "STOPPING")) return;
    // Stopped while its lost worker had it: it ends where that worker's last checkpoint left it.
    if (run.status === "STOPPING") {
      await states.transition(run.id, ["STOPPING"], { status: "STOPPED", finishedAt: new Date() });
      return;
    }
    // RUNNING: a lost worker's run, taken over. What it wrote but did not record is recorded first.
    const takeover = run.status === "RUNNING";
    if (takeover) {
      await recordUnrecordedFiles({ store, dataDir, runDir: runDir(dataDir, run.id), run, log: this.log });
      this.log.warn({ runId: run.id }, "taking over a run whose worker was lost");
    }
    const checkpoint = await this.startingCheckpoint(run, job.data.checkpointId, takeover);
    const execution = new RunExecution(this.options.context, run, checkpoint, this.options.threads);
    this.active.set(run.id, execution);
    this.renewedAt.set(run.id, Date.now());
    // The workers list shows the run now, not at the next heartbeat.
    this.heartbeat.beat();
    try {
      if ((await execution.ended) === "handed-over") await this.putBack(run.id);
    } finally {
      this.active.delete(run.id);
      this.renewedAt.delete(run.id);
      this.heartbeat.beat();
    }
  }

  /**
   * A new run starts from nothing, a resumed one from the checkpoint it was resumed
   * from (else its latest), a taken-over one from the newest checkpoint written since it
   * was queued that its stored metrics reach (resume-point.ts).
   */
  private async startingCheckpoint(run: RunRecord, checkpointId: string | undefined, takeover: boolean): Promise<CheckpointRecord | undefined> {
    const { store } = this.options.context;
    const sinceQueued = takeover ? await latestResumePoint(store, run, run.queuedAt) : undefined;
    if (sinceQueued) return sinceQueued;
    return checkpointId === undefined ? latestResumePoint(store, run) : ((await store.getCheckpoint(checkpointId)) ?? undefined);
  }

  /** Stops training a run that may be another worker's now, recording nothing more about it. */
  private abandon(runId: string, why: string): void {
    const execution = this.active.get(runId);
    if (!execution) return;
    this.log.warn({ runId, why }, "run abandoned: another worker takes it over from its latest checkpoint");
    execution.abandon();
    this.active.delete(runId);
  }

  /** A run this worker handed over on closing (QUEUED again) gets a job, for another worker to take. */
  private async putBack(runId: string): Promise<void> {
    const queued = await this.options.context.store.getRun(runId);
    if (queued?.status === "QUEUED") await this.requeue.enqueue(queued);
  }

  /**
   * BullMQ failed the run's job: it stalled more often than maxStalls (its workers kept
   * being lost), or the worker could not even start it. The run fails, saying why; every
   * worker hears the event, and the conditional update lets one record it.
   */
  private async failRunOfFailedJob(runId: string, reason: string): Promise<void> {
    const error = reason.includes("stalled")
      ? `its worker was lost more than ${this.options.stalls.maxStalls} times (${reason}); resume it to try again`
      : `no worker could train it: ${reason}`;
    const failed = await this.options.context.states
      .transition(runId, ["QUEUED", "RUNNING", "STOPPING"], { status: "FAILED", finishedAt: new Date(), error })
      .catch((err: unknown) => this.log.error({ err, runId }, "recording a lost run failed"));
    if (failed) this.log.error({ runId, reason }, "run failed: its worker was lost too often");
  }
}
