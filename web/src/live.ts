import { useEffect, useRef, useState } from "preact/hooks";
import { subscribe } from "./api";
import { PROGRESS } from "./queries";
import type { Metric } from "./types";

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
      subscribe<{ runProgress: Metric }>(PROGRESS, { id }, { next: ({ runProgress }) => void (pending.current[id] = runProgress) }),
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
