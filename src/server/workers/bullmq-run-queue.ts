import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { RunQueue } from "../runs/run-queue.js";
import type { CheckpointRecord, RunRecord } from "../store/types.js";
import { RUN_QUEUE, type RunJob, runJobId, STOP_CHANNEL } from "./run-jobs.js";

/**
 * The API side of the distributed queue: runs go to BullMQ, where `dcgan worker`s (and
 * replicas that train) take them; stops go out on a Redis channel to the worker that
 * trains the run. The database's QUEUED status and queuedAt stay the queue's record for
 * clients (system.queuedRunIds, MAX_QUEUED_RUNS); BullMQ's is the workers' (FIFO).
 */
export class BullmqRunQueue implements RunQueue {
  private readonly queue: Queue<RunJob>;
  private readonly publisher: Redis;

  constructor(redisUrl: string) {
    this.queue = new Queue<RunJob>(RUN_QUEUE, { connection: { url: redisUrl } });
    this.publisher = new Redis(redisUrl);
  }

  async start(): Promise<void> {
    await this.queue.waitUntilReady();
  }

  async enqueue(run: RunRecord, checkpoint?: CheckpointRecord): Promise<void> {
    await this.queue.add(
      "train",
      { runId: run.id, checkpointId: checkpoint?.id },
      // A run is trained once per job: its process records failures itself, and a lost
      // worker's run comes back through BullMQ's stalled-job check, not through retries.
      { jobId: runJobId(run), attempts: 1, removeOnComplete: true, removeOnFail: { count: 1000 } },
    );
  }

  async requestStop(runId: string): Promise<void> {
    await this.publisher.publish(STOP_CHANNEL, runId);
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.publisher.quit();
  }
}
