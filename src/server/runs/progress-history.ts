import type { IterationMetrics } from "../../engine/metrics.js";

export interface ProgressHistorySource {
  /** Iterations the run reported that are not stored yet (its MetricsBuffer's). */
  pending(): readonly IterationMetrics[];
  /** Up to `limit` stored iterations after `after`, in order. */
  stored(after: number, limit: number): Promise<IterationMetrics[]>;
}

/**
 * Up to `limit` iterations after `after` that are stored or waiting to be, in order;
 * fewer only when there are no more yet: what live-tail.ts's `history` must give
 * (that module holds the replay/live guarantee this serves).
 */
export async function progressHistory(source: ProgressHistorySource, after: number, limit: number): Promise<IterationMetrics[]> {
  // Pending rows first: a batch committed between the two reads then appears twice
  // (and is deduplicated) instead of not at all.
  const pending = source.pending();
  const stored = await source.stored(after, limit);
  // A full page may stop short of the pending rows; they come with a later page.
  if (stored.length === limit) return stored;
  const byIteration = new Map<number, IterationMetrics>();
  for (const m of [...stored, ...pending]) if (m.iteration > after) byIteration.set(m.iteration, m);
  return [...byIteration.values()].sort((a, b) => a.iteration - b.iteration).slice(0, limit);
}
