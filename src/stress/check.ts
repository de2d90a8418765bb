/** What `npm run stress` requires of the server: each check passes or fails, with the figures that decided it. */
import { fmt } from "./format.js";
import { mb, type StressFigures } from "./figures.js";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export function checkFigures(f: StressFigures): Check[] {
  const { options, run, subscribers: s, memory, flood, health } = f;
  const expected = options.subscribers * options.iterations;
  const signed = (n: number) => `${n >= 0 ? "+" : ""}${fmt(n)}`;
  return [
    {
      name: "the run completed",
      ok: run.status === "COMPLETED" && !f.timedOut,
      detail: f.timedOut ? `gave up after ${options.timeout} s at iteration ${f.lastIteration}` : `${run.status} at iteration ${run.iteration}${run.error ? `: ${run.error}` : ""}`,
    },
    {
      name: "every subscriber saw every iteration exactly once, in order",
      ok: s.incomplete === 0 && s.duplicates === 0 && s.missing === 0 && s.beyond === 0 && s.delivered === expected,
      detail: `${options.subscribers - s.incomplete}/${options.subscribers} complete, ${s.delivered} delivered of ${expected}, ${s.duplicates} duplicates, ${s.missing} missing, ${s.beyond} beyond the end`,
    },
    {
      name: "SUBSCRIBER_TOO_SLOW named the last iteration delivered",
      ok: s.tooSlowMismatch === 0,
      detail: `${s.tooSlow} streams ended too slow, ${s.tooSlowMismatch} with another after`,
    },
    {
      name: "the server's memory stayed bounded",
      ok: memory.secondHalfSamples > 0 && memory.growthMb <= options.rssGrowth && memory.heap.growthMb <= options.rssGrowth,
      detail:
        `peak RSS ${fmt(mb(memory.peakFirstKb))} MB in the run's first half, ${fmt(mb(memory.peakSecondKb))} MB after (${signed(memory.growthMb)} MB); ` +
        `live heap ${fmt(memory.heap.peakFirstMb)} then ${fmt(memory.heap.peakAfterMb)} MB (${signed(memory.heap.growthMb)} MB); allowed +${options.rssGrowth} MB`,
    },
    {
      name: "no 5xx without a GraphQL errors body",
      ok: flood.bare5xxCount === 0,
      detail: flood.bare5xxCount === 0 ? `${flood.httpSent} bad HTTP requests` : `${flood.bare5xxCount}: ${flood.bare5xx.join(" | ")}`,
    },
    {
      name: "foreign Hosts, oversized and malformed WebSocket frames were refused",
      ok: flood.transportNotRefusedCount === 0,
      detail: flood.transportNotRefusedCount === 0 ? "all of them" : `${flood.transportNotRefusedCount}: ${flood.transportNotRefused.join(" | ")}`,
    },
    {
      name: "the server wrote nothing to stderr (its log is stdout)",
      ok: !f.serverLog.has("stderr"),
      detail: `${f.serverLog.get("stderr") ?? 0} lines`,
    },
    {
      name: "the server answered every request",
      ok: flood.unansweredCount === 0 && health.failures === 0,
      detail:
        `${flood.unansweredCount} bad operations and ${health.failures}/${health.probes} /healthz probes unanswered; ` +
        `slowest answer ${fmt(Math.max(flood.httpLatency.max, flood.wsLatency.max, health.latency.max), 0)} ms` +
        (flood.unanswered.length + health.failureExamples.length ? `: ${[...flood.unanswered, ...health.failureExamples].slice(0, 5).join(" | ")}` : ""),
    },
  ];
}
