import type { IterationMetrics } from "../../engine/metrics.js";
import type { Store } from "../store/store.js";
import { retrying } from "./retry.js";

/** Rows are written in batches: at most this many at once, at least this often. */
export const MAX_BATCH = 500;
const FLUSH_INTERVAL_MS = 200;

/**
 * Collects one run's iteration metrics and writes them in batched transactions. A batch
 * that fails is written again (retry.ts) until it commits, the database restarting
 * meanwhile: rows are idempotent on (run, iteration), so a retry never duplicates.
 * `onStored` says how far the store holds the run's rows; until then
 * RunEvents.recentProgress has them.
 */
export class MetricsBuffer {
  private rows: IterationMetrics[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private discarded = false;

  constructor(
    private readonly store: Store,
    private readonly runId: string,
    private readonly callbacks: { onStored(iteration: number): Promise<void>; onError(err: unknown): void },
  ) {}

  add(metrics: IterationMetrics): void {
    if (this.discarded) return;
    this.rows.push(metrics);
    if (this.rows.length >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Drops what waits and takes no more: the run is no longer this trainer's to record. */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.rows = [];
    this.discarded = true;
  }

  /** Resolves once everything added so far is committed, or given up on (and reported). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(async () => {
      if (this.rows.length === 0) return;
      const batch = this.rows;
      this.rows = [];
      const last = batch[batch.length - 1]!;
      const { onStored, onError } = this.callbacks;
      try {
        await retrying(async () => {
          await this.store.addMetrics(this.runId, batch);
          await this.store.updateRun(this.runId, { iteration: last.iteration, epoch: last.epoch });
        }, onError);
        await onStored(last.iteration);
      } catch (err) {
        onError(err);
      }
    });
    return this.flushing;
  }
}
