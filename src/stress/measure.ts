/** What `npm run stress` measures while it runs: the server's memory, CPU and liveness, the host's dropped connections. */
import { readdirSync, readFileSync } from "node:fs";
import { once } from "node:events";
import WebSocket from "ws";
import { cpuSeconds, rssKb } from "../bench/process-stats.js";
import { Latencies, sleep } from "./subscriber.js";

/** How often the heap probe collects garbage in the server and reads its live heap. */
export const HEAP_INTERVAL_MS = 3000;

/**
 * Connections the kernel dropped because a listening socket's accept queue was full
 * (TcpExt ListenOverflows, for the whole network namespace): the client retries its SYN
 * after 1, 3, 7, 15 s, so a server slow to accept looks like a slow connect.
 */
export function listenOverflows(): number {
  try {
    const [names, values] = readFileSync("/proc/net/netstat", "utf8")
      .split("\n")
      .filter((line) => line.startsWith("TcpExt:"))
      .map((line) => line.split(/\s+/));
    const i = names?.indexOf("ListenOverflows") ?? -1;
    return i > 0 ? Number(values?.[i]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

export interface ProcessSample {
  /** ms since the sampler started */
  t: number;
  serverKb: number;
  /** The server's child processes (the training process) together. */
  childrenKb: number;
  /** CPU seconds used so far by the server, by its children while they were sampled, and by this process. */
  serverCpu: number;
  childrenCpu: number;
  selfCpu: number;
}

/** RSS and CPU time of the server and its children, four times a second. */
export class ProcessSampler {
  readonly samples: ProcessSample[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly childCpu = new Map<number, number>();
  private childrenCpu = 0;

  /** `started`: the origin of the samples' times, a performance.now() value. */
  constructor(
    private readonly pid: number,
    private readonly started: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
  }

  now(): number {
    return performance.now() - this.started;
  }

  sample(): ProcessSample | undefined {
    const serverKb = rssKb(this.pid);
    const serverCpu = cpuSeconds(this.pid);
    if (serverKb === undefined || serverCpu === undefined) return undefined;
    let childrenKb = 0;
    for (const pid of childPids(this.pid)) {
      childrenKb += rssKb(pid) ?? 0;
      const cpu = cpuSeconds(pid);
      if (cpu === undefined) continue;
      this.childrenCpu += cpu - (this.childCpu.get(pid) ?? 0);
      this.childCpu.set(pid, cpu);
    }
    const self = process.cpuUsage();
    const sample = {
      t: this.now(),
      serverKb,
      childrenKb,
      serverCpu,
      childrenCpu: this.childrenCpu,
      selfCpu: (self.user + self.system) / 1e6,
    };
    this.samples.push(sample);
    return sample;
  }

  latest(): ProcessSample | undefined {
    return this.samples[this.samples.length - 1];
  }

  between(from: number, to: number): ProcessSample[] {
    return this.samples.filter((s) => s.t >= from && s.t <= to);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface HeapSample {
  /** ms since the sampler's origin */
  t: number;
  /** V8 heap in use right after a full collection, MB */
  liveMb: number;
}

/**
 * Every few seconds, through the server's inspector: a full garbage collection, then the
 * heap in use. Unlike RSS, which V8 lets grow with garbage it has not yet collected,
 * this is what the server really holds.
 */
export class HeapProbe {
  readonly samples: HeapSample[] = [];
  private readonly pending = new Map<number, (result: unknown) => void>();
  private nextId = 1;
  private readonly controller = new AbortController();
  private done: Promise<void> = Promise.resolve();

  private constructor(
    private readonly socket: WebSocket,
    private readonly clock: () => number,
  ) {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.pending.get(message.id)?.(message.result);
      if (message.id !== undefined) this.pending.delete(message.id);
    });
  }

  static async connect(url: string, clock: () => number): Promise<HeapProbe> {
    const socket = new WebSocket(url);
    await once(socket, "open");
    return new HeapProbe(socket, clock);
  }

  private call<T>(method: string): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, (result) => resolve(result as T));
      this.socket.send(JSON.stringify({ id, method }), (err) => err && reject(err));
    });
  }

  async measure(): Promise<HeapSample> {
    await this.call("HeapProfiler.collectGarbage");
    const { usedSize } = await this.call<{ usedSize: number }>("Runtime.getHeapUsage");
    const sample = { t: this.clock(), liveMb: usedSize / 2 ** 20 };
    this.samples.push(sample);
    return sample;
  }

  start(intervalMs: number): void {
    this.done = (async () => {
      while (!this.controller.signal.aborted) {
        await this.measure();
        await sleep(intervalMs, this.controller.signal);
      }
    })();
  }

  between(from: number, to: number): HeapSample[] {
    return this.samples.filter((s) => s.t >= from && s.t <= to);
  }

  /** Stops measuring and disconnects (a server with a debugger attached would wait for it at exit). */
  async close(): Promise<void> {
    this.controller.abort();
    await this.done.catch(() => undefined);
    this.socket.close();
  }
}

/** Asks /healthz twice a second, one request at a time, and keeps the worst. */
export class HealthProbe {
  probes = 0;
  failures = 0;
  readonly latency = new Latencies();
  readonly failureExamples: string[] = [];
  private readonly done: Promise<void>;
  private readonly controller = new AbortController();

  constructor(url: string) {
    const healthz = new URL("/healthz", url).href;
    this.done = (async () => {
      while (!this.controller.signal.aborted) {
        const started = performance.now();
        this.probes++;
        try {
          const res = await fetch(healthz, { signal: AbortSignal.timeout(10_000) });
          await res.text();
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
        } catch (err) {
          this.failures++;
          if (this.failureExamples.length < 5) this.failureExamples.push((err as Error).message);
        }
        this.latency.add(performance.now() - started);
        await sleep(500, this.controller.signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

export function peakKb(samples: ProcessSample[], key: "serverKb" | "childrenKb"): number {
  return samples.reduce((max, s) => Math.max(max, s[key]), 0);
}

export function peakLiveMb(samples: HeapSample[]): number {
  return samples.reduce((max, h) => Math.max(max, h.liveMb), 0);
}

/** Percent of one core used between two samples, by the server, its children and this process. */
export interface CpuShares {
  server: number;
  children: number;
  self: number;
}

export function cpuShares(a: ProcessSample, b: ProcessSample): CpuShares {
  const seconds = (b.t - a.t) / 1000;
  const pct = (cpu: number) => (100 * cpu) / seconds;
  return { server: pct(b.serverCpu - a.serverCpu), children: pct(b.childrenCpu - a.childrenCpu), self: pct(b.selfCpu - a.selfCpu) };
}
