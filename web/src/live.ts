import { useEffect, useRef, useState } from "preact/hooks";
import { request, subscribe } from "./api";
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

export interface PolledQueryOptions<T> {
  /** The query's variables: new ones ask again at once (an answer to the old ones is dropped). */
  variables?: Record<string, unknown>;
  /** Whether to keep asking after this answer (default: always); it is asked once again when the page shows again. */
  keepPolling?: (data: T) => boolean;
}

/**
 * A query asked again `intervalMs` after each answer, for what no subscription tells of.
 * Only while the page is visible: a hidden tab stops asking, and asks at once when shown
 * again. A failed poll keeps the last answer beside its error. `refresh` asks at once
 * (after a mutation), and polls again from there.
 */
export function usePolledQuery<T>(query: string, intervalMs: number, options: PolledQueryOptions<T> = {}): { data?: T; error?: string; refresh: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [nonce, setNonce] = useState(0);
  const keepPolling = useRef(options.keepPolling);
  keepPolling.current = options.keepPolling;
  const variables = JSON.stringify(options.variables ?? {});
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let mounted = true;
    // Each poll started when the page shows again is a new chain: an older answer neither renders nor schedules.
    let chain = 0;
    const poll = async () => {
      const mine = ++chain;
      let next: typeof state;
      try {
        next = { data: await request<T>(query, JSON.parse(variables) as Record<string, unknown>) };
      } catch (err) {
        next = { error: (err as Error).message };
      }
      if (!mounted || mine !== chain) return;
      setState((current) => ({ data: next.data ?? current.data, error: next.error }));
      const more = next.data === undefined || !keepPolling.current || keepPolling.current(next.data);
      if (!document.hidden && more) timer = setTimeout(() => void poll(), intervalMs);
    };
    const onVisibility = () => {
      clearTimeout(timer);
      if (!document.hidden) void poll();
    };
    if (!document.hidden) void poll();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      mounted = false;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [query, intervalMs, variables, nonce]);
  return { ...state, refresh: () => setNonce((n) => n + 1) };
}
