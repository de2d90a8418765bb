import type { IterationMetrics } from "../../engine/metrics.js";

export interface ProgressHistorySource {
  /** Iterations after `after` that were published and may not be stored yet (RunEvents.recentProgress). */
  recent(after: number): Promise<IterationMetrics[]>;
  /** Up to `limit` stored iterations after `after`, in order. */
  stored(after: number, limit: number): Promise<IterationMetrics[]>;
}

/**
 * Up to `limit` iterations after `after` that are stored or waiting to be, in order;
 * fewer only when there are no more yet: what live-tail.ts's `history` must give
 * (that module holds the replay/live guarantee this serves).
 */
export async function progressHistory(source: ProgressHistorySource, after: number, limit: number): Promise<IterationMetrics[]> {
  const stored = await source.stored(after, limit);
  // A full page may stop short of the recent rows; they come with a later page.
  if (stored.length === limit) return stored;
  // At the tail: the recent rows, then the store again. A row committed (and so dropped
  // from the recent ones) after the first read is in the second; one not committed by
  // then is still recent. Either way none is missed; one in both is deduplicated.
  const recent = await source.recent(after);
  const storedSince = await source.stored(after, limit);
  const byIteration = new Map<number, IterationMetrics>();
  for (const m of [...storedSince, ...recent]) if (m.iteration > after) byIteration.set(m.iteration, m);
  return [...byIteration.values()].sort((a, b) => a.iteration - b.iteration).slice(0, limit);
}
