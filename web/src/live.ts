import { useEffect, useRef, useState } from "preact/hooks";
import { subscribe } from "./api";
import { PROGRESS } from "./queries";
import type { MetricSeries } from "./series";
import type { ProgressSubscription, ProgressSubscriptionVariables } from "./schema-types";
import type { Metric } from "./types";

/**
 * Appends every new iteration of each run to its series: runProgress from after the
 * last point loaded, so the seam has neither a gap nor a duplicate. Redraws at most
 * once per animation frame; returns each run's newest iteration. A finished run's
 * stream completes at once.
 */
export function useLiveSeries(runs: { id: string; series: MetricSeries }[] | undefined): Record<string, Metric> {
  const [, setVersion] = useState(0);
  const latest = useRef<Record<string, Metric>>({});
  useEffect(() => {
    if (!runs) return;
    let frame = 0;
    const ends = new Map<string, () => void>();
    const follow = ({ id, series }: { id: string; series: MetricSeries }) => {
      ends.set(
        id,
        subscribe<ProgressSubscription, ProgressSubscriptionVariables>(PROGRESS, { id, after: series.lastIteration }, {
          next: ({ runProgress }) => {
            series.append([runProgress]);
            latest.current[id] = runProgress;
            frame ||= requestAnimationFrame(() => {
              frame = 0;
              setVersion((v) => v + 1);
            });
          },
          // A reader too slow for the stream (a background tab) picks up where it stopped.
          error: (err) => {
            if (err.code === "SUBSCRIBER_TOO_SLOW") follow({ id, series });
          },
        }),
      );
    };
    runs.forEach(follow);
    return () => {
      for (const end of ends.values()) end();
      cancelAnimationFrame(frame);
    };
  }, [runs]);
  return latest.current;
}

/**
 * The latest iteration of each of `runIds` (running runs), from runProgress. Updates
 * are batched into one render every `intervalMs`: a list does not need 10 renders a
 * second per run.
 */
export function useLatestProgress(runIds: string[], intervalMs = 500): Record<string, Metric> {
  const [latest, setLatest] = useState<Record<string, Metric>>({});
  const pending = useRef<Record<string, Metric>>({});
  const key = [...runIds].sort().join(",");

  useEffect(() => {
    const ends = runIds.map((id) =>
      subscribe<ProgressSubscription, ProgressSubscriptionVariables>(PROGRESS, { id }, { next: ({ runProgress }) => void (pending.current[id] = runProgress) }),
    );
    const timer = setInterval(() => {
      if (Object.keys(pending.current).length === 0) return;
      const batch = pending.current;
      pending.current = {};
      setLatest((current) => ({ ...current, ...batch }));
    }, intervalMs);
    return () => {
      clearInterval(timer);
      for (const end of ends) end();
    };
  }, [key]);
  return latest;
}
