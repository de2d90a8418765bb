// How a run's progress lies in Redis: one stream per run, entry `<iteration>-0` holding
// one field per metric, so that ids follow iterations; and, last, an end marker.
import { type IterationMetrics, METRIC_COLUMNS } from "../../engine/metrics.js";

export type StreamEntry = [id: string, fields: string[]];

type MetricColumn = (typeof METRIC_COLUMNS)[number];

/** The field of an end marker, the entry `endProgress` adds after a run's last iteration. */
export const END_FIELD = "end";

/**
 * A stream keeps about this many entries (XADD MAXLEN ~). The store writes a batch every
 * 200 ms or 500 rows (metrics-buffer.ts), so what it does not hold yet is a batch or two;
 * 50,000 entries (a few MB) is minutes of a fast run's iterations, which outlasts the
 * database being down for a while, and leaves readers far more than they ever lag.
 */
export const STREAM_MAX_ENTRIES = 50_000;

/**
 * A stream goes this long after its last entry (EXPIRE, renewed by every XADD): a day
 * after a run has finished, or after its trainer died without ending it. Its iterations
 * are in the store by then, and a subscriber of a finished run reads only the store.
 */
export const STREAM_TTL_S = 24 * 60 * 60;

export function progressStreamKey(runId: string): string {
  return `dcgan:progress:${runId}`;
}

export function iterationEntryId(iteration: number): string {
  return `${iteration}-0`;
}

/** The id an end marker takes after the stream's top entry (`<ms>-*`: the next sequence number). */
export function endMarkerId(topEntryId: string | undefined): string {
  return `${topEntryId?.split("-")[0] ?? 0}-*`;
}

/** Field, value, ...: numbers as String writes them, so NaN and Infinity (a diverged GAN's) come back as they were. */
export function encodeMetrics(metrics: IterationMetrics): string[] {
  return METRIC_COLUMNS.flatMap((column) => [column, String(metrics[column])]);
}

/** An entry's iteration, or null for the end marker. */
export function decodeEntry([, fields]: StreamEntry): IterationMetrics | null {
  if (fields[0] === END_FIELD) return null;
  const values = new Map<string, string>();
  for (let i = 0; i < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
  const metrics = Object.fromEntries(METRIC_COLUMNS.map((column) => [column, Number(values.get(column))])) as Record<MetricColumn, number>;
  // Returned as IterationMetrics: the compiler checks that METRIC_COLUMNS names every metric.
  return metrics;
}
