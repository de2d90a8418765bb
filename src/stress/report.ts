/** The stress's report: tables on stdout, and the figures as JSON. */
import { cpus } from "node:os";
import type { Check } from "./check.js";
import { mb, type StressFigures } from "./figures.js";
import { fmt, percent, sortedCounts, table } from "./format.js";
import { HEAP_INTERVAL_MS } from "./measure.js";

export function reportText(f: StressFigures, checks: Check[], wallSeconds: number): string {
  const { options, subscribers: s, memory, flood, health } = f;
  const signed = (n: number) => `${n >= 0 ? "+" : ""}${fmt(n)}`;
  const out: string[] = [];
  out.push(
    `\nStress: one run of ${options.iterations} iterations (${f.run.backend ?? options.backend}, 16x16 grey, ngf=ndf=4, batch 4), ` +
      `${options.subscribers} subscribers, flood ${options.floodHttp} HTTP + ${options.floodWs} WebSocket in flight, seed ${options.seed}`,
  );
  out.push(`Machine: ${f.machine}\n`);
  out.push("Training");
  const alone = Number.isFinite(f.baselineRate);
  out.push(
    table([
      ["iterations/s alone", alone ? `${fmt(f.baselineRate)} (a ${options.baselineIterations}-iteration run first)` : "-"],
      ["iterations/s under stress", `${fmt(f.stressRate)}${alone ? ` (${fmt((100 * f.stressRate) / f.baselineRate, 0)} %)` : ""}`],
      ["run finished after", `${fmt(f.runSeconds)} s; subscribers all done after ${fmt(f.stressSeconds)} s`],
    ]),
  );
  out.push("\nSubscribers");
  out.push(
    table([
      ["subscribers complete", `${options.subscribers - s.incomplete} / ${options.subscribers}`],
      ["messages delivered", `${s.delivered} (${fmt(s.delivered / f.stressSeconds, 0)}/s)`],
      ["duplicates / missing", `${s.duplicates} / ${s.missing}`],
      ["subscriptions", `${s.subscriptions} (${s.reconnects} resubscriptions with after, ${fmt(s.reconnects / options.subscribers)} per subscriber)`],
      ["connections acknowledged", String(s.connections)],
      ["connect to connection_ack", s.connectLatency.summary()],
      ["dropped by the subscriber", `${s.disconnects.terminate} TCP resets, ${s.disconnects.close} closes, ${s.disconnects.unsubscribe} complete+close`],
      ["ended SUBSCRIBER_TOO_SLOW", String(s.tooSlow)],
      ...sortedCounts(s.unexpected).map(([k, v]): [string, string] => [`ended by server: ${k}`, v]),
    ]),
  );
  if (s.anomalies.length) out.push(`  first anomalies: ${s.anomalies.join("; ")}`);
  out.push("\nFlood");
  out.push(
    table([
      ["bad HTTP requests", `${flood.httpSent} (${fmt(flood.httpSent / f.stressSeconds, 0)}/s)`],
      ["bad WebSocket sessions", `${flood.wsSent} (${fmt(flood.wsSent / f.stressSeconds, 1)}/s)`],
      ["HTTP answers", flood.httpLatency.summary()],
      ["WebSocket sessions (upgrade to reaction)", flood.wsLatency.summary()],
      ...sortedCounts(flood.outcomes).map(([k, v]): [string, string] => [`  ${k}`, v]),
    ]),
  );
  out.push("\nFlood by operation (sent: outcomes, slowest answer)");
  out.push(
    table(
      [...flood.byOp.entries()]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([op, e]): [string, string] => [
          op,
          `${e.sent}: ${[...e.outcomes].map(([k, v]) => `${k.replace(/^(HTTP|WS) /, "")} x${v}`).join(", ")}; ${fmt(e.maxLatencyMs, 0)} ms`,
        ]),
    ),
  );
  if (flood.wsInternalErrors > 0) {
    out.push(`  WARNING: ${flood.wsInternalErrors} WebSocket sessions closed with 4500 (internal error): ${[...flood.wsInternalErrorExamples].join(" | ")}`);
  }
  out.push("\nServer");
  out.push(
    table([
      ["RSS idle (before the stress)", `${fmt(mb(memory.idleKb))} MB`],
      ["RSS at start of the stress", `${fmt(mb(memory.startKb))} MB`],
      ["RSS peak, run's first half / after", `${fmt(mb(memory.peakFirstKb))} / ${fmt(mb(memory.peakSecondKb))} MB (${signed(memory.growthMb)} MB)`],
      ["RSS peak while subscribers caught up", `${fmt(mb(memory.peakAfterRunKb))} MB (after the run finished)`],
      [
        "live heap (after a full GC)",
        `${fmt(memory.heap.startMb)} MB at the start, peak ${fmt(memory.heap.peakFirstMb)} / ${fmt(memory.heap.peakAfterMb)} MB (${signed(memory.heap.growthMb)} MB), ` +
          `${fmt(memory.heap.endMb)} MB at the end; measured every ${HEAP_INTERVAL_MS / 1000} s`,
      ],
      ["RSS at the end", `${fmt(mb(memory.endKb))} MB (2 s after the last subscriber)`],
      ["training process RSS peak", `${fmt(mb(memory.trainingPeakKb))} MB`],
      ["CPU during the stress", f.cpu ? `server ${percent(f.cpu.server)}, training ${percent(f.cpu.children)}, this stress client ${percent(f.cpu.self)} (of ${cpus().length * 100} %)` : "-"],
      ["TCP listen queue overflows", `${f.overflows} (dropped connection attempts on this host during the stress)`],
      ["/healthz", `${health.probes} probes, ${health.failures} failed; ${health.latency.summary()}`],
      ["log lines (warn and above; stderr)", f.serverLog.size ? [...f.serverLog].map(([k, v]) => `${v} ${k}`).join(", ") : "none"],
    ]),
  );
  out.push("\nChecks");
  for (const c of checks) out.push(`  ${c.ok ? "PASS" : "FAIL"}  ${c.name}: ${c.detail}`);
  out.push(`\nWall time ${fmt(wallSeconds)} s`);
  return `${out.join("\n")}\n`;
}

/** The figures for `--json`. */
export function reportJson(f: StressFigures, checks: Check[]): string {
  const { subscribers: s, memory, flood, health } = f;
  return JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: f.machine,
      options: f.options,
      baselineRate: f.baselineRate,
      stressRate: f.stressRate,
      subscribers: {
        delivered: s.delivered,
        duplicates: s.duplicates,
        missing: s.missing,
        incomplete: s.incomplete,
        reconnects: s.reconnects,
        tooSlow: s.tooSlow,
        unexpected: Object.fromEntries(s.unexpected),
        anomalies: s.anomalies,
      },
      flood: { httpSent: flood.httpSent, wsSent: flood.wsSent, outcomes: Object.fromEntries(flood.outcomes), wsInternalErrors: flood.wsInternalErrors },
      memoryMb: {
        idle: mb(memory.idleKb),
        start: mb(memory.startKb),
        peakFirstHalf: mb(memory.peakFirstKb),
        peakAfter: mb(memory.peakSecondKb),
        peakCatchUp: mb(memory.peakAfterRunKb),
        liveHeap: { start: memory.heap.startMb, peakFirstHalf: memory.heap.peakFirstMb, peakAfter: memory.heap.peakAfterMb, end: memory.heap.endMb },
        end: mb(memory.endKb),
        trainingPeak: mb(memory.trainingPeakKb),
      },
      health: { probes: health.probes, failures: health.failures, medianMs: health.latency.percentile(50), maxMs: health.latency.max },
      checks,
    },
    null,
    2,
  );
}
