import type { CheckpointRecord, RunRecord } from "../store/types.js";

/**
 * Where queued runs wait for a trainer, and how a stop reaches the one training a run.
 * In-process (local-run-queue.ts): this server trains, up to MAX_CONCURRENT_RUNS at once.
 * On BullMQ (bullmq-run-queue.ts): `dcgan worker`s anywhere take runs from Redis.
 */
export interface RunQueue {
  /** Trains what the last process left (local) and starts taking runs. */
  start(): Promise<void>;
  /**
   * The run is stored QUEUED (at its queuedAt): train it when a trainer is free, from
   * `checkpoint` when given, else from its latest checkpoint if it has one.
   */
  enqueue(run: RunRecord, checkpoint?: CheckpointRecord): Promise<void>;
  /** The run is stored STOPPING: whoever trains it stops at the next iteration boundary. */
  requestStop(runId: string): Promise<void>;
  /** Stops taking runs; runs training here end INTERRUPTED at an iteration boundary. */
  close(): Promise<void>;
}
