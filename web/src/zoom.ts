import { useEffect, useState } from "preact/hooks";
import { request } from "./api";
import { METRICS_RANGE } from "./queries";
import { MetricSeries } from "./series";
import type { MetricsRangeQuery, MetricsRangeQueryVariables } from "./schema-types";

/** A zoomed chart's iterations, both ends included (as Run.metrics takes them). */
export interface ZoomRange {
  from: number;
  to: number;
}

/** Points asked for a zoomed range: a range of up to this many iterations comes back whole. */
export const ZOOM_POINTS = 2000;
/** A zoom waits this long for a newer one (a range typed digit by digit) before it asks. */
const DEBOUNCE_MS = 120;

export interface Zoom {
  /** The range shown; undefined: the downsampled full view. */
  range?: ZoomRange;
  /** Each run's metrics in `range` at full resolution, once they are loaded. */
  series?: Record<string, MetricSeries>;
  error?: string;
  /** Zooms to `range`, or back to the full view. */
  set(range: ZoomRange | undefined): void;
}

/** `[from, to]` as whole iterations, in order; undefined when it holds fewer than two. */
export function zoomRange(a: number, b: number): ZoomRange | undefined {
  const from = Math.ceil(Math.min(a, b));
  const to = Math.floor(Math.max(a, b));
  return Number.isFinite(from) && Number.isFinite(to) && to > from ? { from, to } : undefined;
}

/**
 * Full resolution on zoom: while a range is set, each run's metrics in it, fetched again
 * for every new range. A newer range supersedes an older request, whose answer is
 * dropped. The range resets when the runs change.
 */
export function useZoom(ids: string[]): Zoom {
  const key = ids.join(",");
  const [zoom, setZoom] = useState<{ key: string; range?: ZoomRange }>({ key });
  const [loaded, setLoaded] = useState<{ range: ZoomRange; series?: Record<string, MetricSeries>; error?: string }>();
  const range = zoom.key === key ? zoom.range : undefined;

  useEffect(() => {
    if (!range) return;
    let current = true;
    const fetchRange = async (id: string): Promise<[string, MetricSeries]> => {
      const { run } = await request<MetricsRangeQuery, MetricsRangeQueryVariables>(METRICS_RANGE, { id, ...range, maxPoints: ZOOM_POINTS });
      if (!run) throw new Error(`There is no run ${id}.`);
      const series = new MetricSeries(ZOOM_POINTS);
      series.append(run.metrics);
      return [id, series];
    };
    const timer = setTimeout(() => {
      Promise.all(key.split(",").map(fetchRange))
        .then((entries) => current && setLoaded({ range, series: Object.fromEntries(entries) }))
        .catch((err: Error) => current && setLoaded({ range, error: err.message }));
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [key, range]);

  const mine = loaded && loaded.range === range ? loaded : undefined;
  return { range, series: mine?.series, error: mine?.error, set: (next) => setZoom({ key, range: next }) };
}

/** `runs` with each one's series in the zoomed range, once loaded; as they are otherwise. */
export function zoomed<T extends { id: string; series: MetricSeries }>(runs: T[], zoom: Zoom): T[] {
  return zoom.series ? runs.map((run) => ({ ...run, series: zoom.series![run.id] ?? run.series })) : runs;
}
