import type { IterationMetrics } from "../../engine/metrics.js";
import type { Store } from "../store/store.js";

/** Rows are written in batches: at most this many at once, at least this often. */
const MAX_BATCH = 500;
const FLUSH_INTERVAL_MS = 200;

/**
 * Collects one run's iteration metrics and writes them in batched transactions.
 * Rows stay readable through `pending()` until their transaction has committed, so a
 * reader of the database plus the pending rows sees every iteration published so far.
 */
export class MetricsBuffer {
  private rows: IterationMetrics[] = [];
  private writing: IterationMetrics[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly runId: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  add(metrics: IterationMetrics): void {
    this.rows.push(metrics);
    if (this.rows.length >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Rows published but not yet committed, oldest first. */
  pending(): IterationMetrics[] {
    return [...this.writing, ...this.rows];
  }

  /** Resolves once everything added so far is committed. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(async () => {
      if (this.rows.length === 0) return;
      this.writing = this.rows;
      this.rows = [];
      const last = this.writing[this.writing.length - 1]!;
      try {
        await this.store.addMetrics(this.runId, this.writing);
        await this.store.updateRun(this.runId, { iteration: last.iteration, epoch: last.epoch });
      } catch (err) {
        this.onError(err);
      } finally {
        this.writing = [];
      }
    });
    return this.flushing;
  }
}
