/** The stress's figures, from what it measured: the runs, the subscribers, the flood, the server's memory and CPU. */
import { cpus } from "node:os";
import type { FloodStats } from "./flooder.js";
import { cpuShares, type CpuShares, type HealthProbe, type HeapProbe, type HeapSample, peakKb, peakLiveMb, type ProcessSample, type ProcessSampler } from "./measure.js";
import type { Options } from "./options.js";
import type { RunState } from "./run.js";
import { type DisconnectKind, Latencies, type SubscriberStats } from "./subscriber.js";

/** Everything the stress recorded, as main() collected it. */
export interface Measurements {
  options: Options;
  baselineRate: number;
  stressRate: number;
  finalState: RunState;
  /** The last state seen while waiting for the run. */
  lastState: RunState | undefined;
  /** It gave up after options.timeout. */
  timedOut: boolean;
  /** ms on the sampler's clock. */
  stressStarted: number;
  runFinishedAt: number;
  subscribersDoneAt: number;
  subscribers: readonly SubscriberStats[];
  sampler: ProcessSampler;
  heap: HeapProbe;
  heapStart: HeapSample;
  heapEnd: HeapSample;
  /** The server's RSS after the baseline run, before the stress. */
  idleKb: number;
  /** A sample 2 s after the last subscriber finished. */
  end: ProcessSample | undefined;
  /** TCP listen queue overflows during the stress. */
  overflows: number;
  flood: FloodStats;
  health: HealthProbe;
  /** The server's warn and error log lines and stderr lines, by kind. */
  serverLog: Map<string, number>;
}

export interface SubscriberFigures {
  count: number;
  delivered: number;
  duplicates: number;
  missing: number;
  /** Iterations past the run's last. */
  beyond: number;
  /** Subscribers that did not finish with the run's last iteration. */
  incomplete: number;
  subscriptions: number;
  /** Resubscriptions, with after. */
  reconnects: number;
  connections: number;
  disconnects: Record<DisconnectKind, number>;
  tooSlow: number;
  /** SUBSCRIBER_TOO_SLOW errors that named another iteration than the last received. */
  tooSlowMismatch: number;
  /** Streams the server ended otherwise, by what ended them. */
  unexpected: Map<string, number>;
  anomalies: string[];
  connectLatency: Latencies;
}

export interface MemoryFigures {
  idleKb: number;
  startKb: number;
  /** Peak RSS in the run's first half, and from its second half until the last subscriber caught up. */
  peakFirstKb: number;
  peakSecondKb: number;
  /** Samples in that second window: none means the bound could not be checked. */
  secondHalfSamples: number;
  growthMb: number;
  peakAfterRunKb: number;
  endKb: number;
  trainingPeakKb: number;
  /** Live heap after a full collection, MB. */
  heap: { startMb: number; peakFirstMb: number; peakAfterMb: number; growthMb: number; endMb: number };
}

export interface StressFigures {
  options: Options;
  machine: string;
  run: RunState;
  lastIteration: number;
  timedOut: boolean;
  baselineRate: number;
  stressRate: number;
  /** From the stress's start to the run's end, and to the last subscriber's. */
  runSeconds: number;
  stressSeconds: number;
  subscribers: SubscriberFigures;
  memory: MemoryFigures;
  /** CPU during the stress; undefined with fewer than two samples. */
  cpu: CpuShares | undefined;
  overflows: number;
  flood: FloodStats;
  health: HealthProbe;
  serverLog: Map<string, number>;
}

export const mb = (kb: number) => kb / 1024;

export function machineDescription(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
}

export function summarize(m: Measurements): StressFigures {
  const { options } = m;
  const stressSeconds = (m.subscribersDoneAt - m.stressStarted) / 1000;

  // Bounded: the peak from the run's second half until the last subscriber caught up is
  // not much above the peak of the run's first half (the connection storm included).
  const window = m.sampler.between(m.stressStarted, m.subscribersDoneAt);
  const middle = (m.stressStarted + m.runFinishedAt) / 2;
  const firstHalf = window.filter((s) => s.t <= middle);
  const secondHalf = window.filter((s) => s.t > middle);
  const peakFirstKb = peakKb(firstHalf, "serverKb");
  const peakSecondKb = peakKb(secondHalf, "serverKb");
  const heapFirst = peakLiveMb(m.heap.between(m.stressStarted, middle));
  const heapAfter = peakLiveMb(m.heap.between(middle, m.subscribersDoneAt));

  return {
    options,
    machine: machineDescription(),
    run: m.finalState,
    lastIteration: m.lastState?.iteration ?? 0,
    timedOut: m.timedOut,
    baselineRate: m.baselineRate,
    stressRate: m.stressRate,
    runSeconds: (m.runFinishedAt - m.stressStarted) / 1000,
    stressSeconds,
    subscribers: subscriberFigures(m.subscribers, options.iterations),
    memory: {
      idleKb: m.idleKb,
      startKb: window[0]?.serverKb ?? Number.NaN,
      peakFirstKb,
      peakSecondKb,
      secondHalfSamples: secondHalf.length,
      growthMb: mb(peakSecondKb - peakFirstKb),
      peakAfterRunKb: peakKb(m.sampler.between(m.runFinishedAt, m.subscribersDoneAt), "serverKb"),
      endKb: m.end?.serverKb ?? Number.NaN,
      trainingPeakKb: peakKb(window, "childrenKb"),
      heap: { startMb: m.heapStart.liveMb, peakFirstMb: heapFirst, peakAfterMb: heapAfter, growthMb: heapAfter - heapFirst, endMb: m.heapEnd.liveMb },
    },
    cpu: window.length > 1 ? cpuShares(window[0]!, window[window.length - 1]!) : undefined,
    overflows: m.overflows,
    flood: m.flood,
    health: m.health,
    serverLog: m.serverLog,
  };
}

function subscriberFigures(stats: readonly SubscriberStats[], iterations: number): SubscriberFigures {
  const sum = (f: (s: SubscriberStats) => number) => stats.reduce((total, s) => total + f(s), 0);
  const unexpected = new Map<string, number>();
  for (const s of stats) for (const [k, v] of s.unexpected) unexpected.set(k, (unexpected.get(k) ?? 0) + v);
  const connectLatency = new Latencies();
  for (const s of stats) for (const ms of s.connectLatency.all()) connectLatency.add(ms);
  return {
    count: stats.length,
    delivered: sum((s) => s.received),
    duplicates: sum((s) => s.duplicates),
    missing: sum((s) => s.missing),
    beyond: sum((s) => s.beyondEnd),
    incomplete: stats.filter((s) => !s.finished || s.lastSeen !== iterations).length,
    subscriptions: sum((s) => s.subscriptions),
    reconnects: sum((s) => s.subscriptions - 1),
    connections: sum((s) => s.connections),
    disconnects: { terminate: sum((s) => s.disconnects.terminate), close: sum((s) => s.disconnects.close), unsubscribe: sum((s) => s.disconnects.unsubscribe) },
    tooSlow: sum((s) => s.tooSlow),
    tooSlowMismatch: sum((s) => s.tooSlowAfterMismatch),
    unexpected,
    anomalies: stats.flatMap((s) => s.anomalies).slice(0, 10),
    connectLatency,
  };
}
