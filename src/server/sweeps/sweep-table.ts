import type { Store } from "../store/store.js";
import type { RunRecord, SmoothedMetrics, SweepRecord } from "../store/types.js";
import { runPoint } from "./grid.js";

/** Iterations a table's smoothed metrics average over, unless asked otherwise. */
export const DEFAULT_SMOOTHING_WINDOW = 100;

export interface SweepTableRow extends SmoothedMetrics {
  run: RunRecord;
  /** The run's value on each axis, then its seed. */
  params: { field: string; value: number }[];
  /** The newest fixed-noise grid's diversity; null before the first. */
  diversity: number | null;
}

/**
 * One row per run of the sweep, in the grid's order: its values, its metrics smoothed
 * over `window` iterations (the last window's means, the best window's losses) and its
 * samples' latest diversity. Three indexed aggregates per run; no metric row leaves the
 * database.
 */
export async function sweepTable(store: Store, sweep: SweepRecord, runs: RunRecord[], window: number): Promise<SweepTableRow[]> {
  const rows: SweepTableRow[] = [];
  for (const run of runs) {
    const [smoothed, latest] = await Promise.all([store.smoothedMetrics(run.id, window), store.latestSample(run.id)]);
    rows.push({ run, params: runPoint(sweep.grid, run.config), ...smoothed, diversity: latest?.diversity ?? null });
  }
  return rows;
}
