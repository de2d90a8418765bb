import type { Store } from "../store/store.js";
import type { RunRecord, SweepRecord, WindowBests, WindowMeans } from "../store/types.js";
import { runPoint } from "./grid.js";

/** Iterations a table's smoothed metrics average over, unless asked otherwise. */
export const DEFAULT_SMOOTHING_WINDOW = 100;

/** (run, window) pairs whose whole windows' bests are kept; the oldest go first past it. */
const MAX_KEPT_BESTS = 10_000;

export interface SweepTableRow {
  run: RunRecord;
  /** The run's value on each axis, then its seed. */
  params: { field: string; value: number }[];
  /** Means over its last `window` stored iterations; null before the first. */
  final: WindowMeans | null;
  /** The lowest loss means of any whole window; the final means' when no window is whole yet. */
  bestLossD: number | null;
  bestLossG: number | null;
  /** The newest fixed-noise grid's diversity; null before the first. */
  diversity: number | null;
}

/**
 * Sweep tables: one row per run, in the grid's order, with its values, its metrics
 * smoothed over `window` iterations and its latest diversity, computed in the database.
 * A whole window never changes, so each run's best windows so far are kept and only the
 * rows stored since are read again: a dashboard polling a sweep of long runs reads each
 * run's metrics once, then only what each run adds.
 */
export class SweepTables {
  private readonly bests = new Map<string, WindowBests>();

  constructor(private readonly store: Store) {}

  async rows(sweep: SweepRecord, runs: RunRecord[], window: number): Promise<SweepTableRow[]> {
    const rows: SweepTableRow[] = [];
    for (const run of runs) {
      const [final, best, latest] = await Promise.all([this.store.lastWindowMeans(run.id, window), this.best(run.id, window), this.store.latestSample(run.id)]);
      rows.push({
        run,
        params: runPoint(sweep.grid, run.config),
        final,
        bestLossD: best.bestLossD ?? final?.lossD ?? null,
        bestLossG: best.bestLossG ?? final?.lossG ?? null,
        diversity: latest?.diversity ?? null,
      });
    }
    return rows;
  }

  /** The run's best whole windows: those kept, updated with the windows completed since. */
  private async best(runId: string, window: number): Promise<WindowBests> {
    const key = `${runId} ${window}`;
    const kept = this.bests.get(key) ?? { bestLossD: null, bestLossG: null, lastWhole: null };
    const since = await this.store.wholeWindowBests(runId, window, kept.lastWhole ?? -1);
    const lower = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
    const best = { bestLossD: lower(kept.bestLossD, since.bestLossD), bestLossG: lower(kept.bestLossG, since.bestLossG), lastWhole: since.lastWhole ?? kept.lastWhole };
    this.bests.delete(key);
    this.bests.set(key, best);
    if (this.bests.size > MAX_KEPT_BESTS) this.bests.delete(this.bests.keys().next().value!);
    return best;
  }
}
