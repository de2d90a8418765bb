import type { Metric } from "./types";

export const SERIES_KEYS = ["lossD", "lossG", "dX", "dGz1", "dGz2"] as const;
export type SeriesKey = (typeof SERIES_KEYS)[number];

/**
 * A run's metrics as columns (what uPlot draws), in iteration order, bounded: past
 * `cap` points every other point is dropped, so a run that streams for days keeps a
 * constant memory and redraw cost, with its whole range still drawn.
 */
export class MetricSeries {
  iterations: number[] = [];
  columns: Record<SeriesKey, number[]> = { lossD: [], lossG: [], dX: [], dGz1: [], dGz2: [] };

  constructor(private readonly cap = 6000) {}

  get length(): number {
    return this.iterations.length;
  }

  get lastIteration(): number {
    return this.iterations.at(-1) ?? 0;
  }

  /** Appends points newer than the last one; older ones (a replay's overlap) are ignored. */
  append(metrics: Iterable<Metric>): void {
    for (const m of metrics) {
      if (m.iteration <= this.lastIteration) continue;
      this.iterations.push(m.iteration);
      for (const key of SERIES_KEYS) this.columns[key].push(m[key]);
    }
    while (this.length > this.cap) this.halve();
  }

  /** Keeps even indices and the last point. */
  private halve(): void {
    const keep = (column: number[]) => column.filter((_, i) => i % 2 === 0 || i === column.length - 1);
    this.iterations = keep(this.iterations);
    for (const key of SERIES_KEYS) this.columns[key] = keep(this.columns[key]);
  }
}

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so that the
 * first points are not pulled towards zero. `weight` 0 leaves the values as they are.
 */
export function smooth(values: number[], weight: number): number[] {
  if (weight <= 0) return values;
  let last = 0;
  return values.map((value, i) => {
    last = last * weight + (1 - weight) * value;
    return last / (1 - weight ** (i + 1));
  });
}
