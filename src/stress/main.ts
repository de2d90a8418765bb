/**
 * `npm run stress`: one training run streamed to many subscribers that drop and resume
 * their subscriptions at random (`runProgress(after:)`), while another client floods
 * the server with bad operations. Checks at the end that every subscriber saw every
 * iteration exactly once and in order, that the server's memory stayed bounded, and
 * that it answered every bad operation without a bare 5xx; prints the figures, and
 * exits 1 when a check failed.
 */
import { Command, InvalidArgumentError } from "commander";
import { type ChildProcess, spawn } from "node:child_process";
import { once, setMaxListeners } from "node:events";
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { cpuSeconds, rssKb } from "../bench/process-stats.js";
import { Rng } from "../engine/rng.js";
import { FINISHED_STATUSES } from "../server/store/types.js";
import { Flooder } from "./flooder.js";
import { Latencies, sleep, Subscriber } from "./subscriber.js";

const SERVER = fileURLToPath(new URL("../server/main.js", import.meta.url));
const BACKENDS = ["CPU", "WASM"] as const;
/** How often the heap probe collects garbage in the server and reads its live heap. */
const HEAP_INTERVAL_MS = 3000;

interface Options {
  subscribers: number;
  iterations: number;
  baselineIterations: number;
  backend: (typeof BACKENDS)[number];
  seed: number;
  disconnectMean: number;
  reconnectMax: number;
  floodHttp: number;
  floodWs: number;
  rssGrowth: number;
  timeout: number;
  port: number;
  keep: boolean;
  json?: string;
}

function integer(min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };
}

function readOptions(argv: string[]): Options {
  return new Command("stress")
    .description("many reconnecting subscribers and a flood of bad operations against one training run")
    .option("--subscribers <n>", "graphql-ws subscribers, each with its own connection", integer(1), 200)
    .option("--iterations <n>", "iterations of the stressed run", integer(1), 1000)
    .option("--baseline-iterations <n>", "iterations of a run without stress first, for its iterations/s (0: none)", integer(0), 200)
    .option("--backend <name>", "CPU or WASM (WASM trains the tiny model about 5x faster: 200 subscribers then want more messages than a 2-core machine delivers)", (v) => {
      const name = v.toUpperCase();
      if (!(BACKENDS as readonly string[]).includes(name)) throw new InvalidArgumentError(`one of ${BACKENDS.join(", ")}`);
      return name;
    }, "CPU")
    .option("--seed <n>", "seed of the subscribers' and the flooder's random choices (and of the run)", integer(0), 1)
    .option("--disconnect-mean <ms>", "mean lifetime of a subscriber's connection before it drops it", integer(1), 5000)
    .option("--reconnect-max <ms>", "a dropped subscriber reconnects after a uniform delay below this", integer(0), 500)
    .option("--flood-http <n>", "bad HTTP requests in flight at once", integer(0), 3)
    .option("--flood-ws <n>", "bad WebSocket sessions in flight at once", integer(0), 1)
    .option("--rss-growth <MB>", "allowed growth of the server's peak RSS (and live heap) from the run's first half to the rest of the stress", integer(0), 50)
    .option("--timeout <s>", "give up when the stressed run and its subscribers have not finished after this long", integer(1), 600)
    .option("--port <n>", "the server's port (0: any free one)", integer(0), 0)
    .option("--keep", "keep the server's data folder (and its output, in server.log there)", false)
    .option("--json <file>", "also write the figures as JSON")
    .parse(argv, { from: "user" })
    .opts<Options>();
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const mb = (kb: number) => kb / 1024;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

// ---------------------------------------------------------------------------------------
// The server process

interface ServerProcess {
  process: ChildProcess;
  pid: number;
  url: string;
  /** Its warn and error log lines and stderr lines, by kind. */
  logCounts: Map<string, number>;
  logExamples: string[];
  /** Its inspector's WebSocket URL. */
  inspectorUrl: Promise<string>;
}

async function startServer(dataDir: string, port: number): Promise<ServerProcess> {
  // The inspector (on loopback, any free port) lets the heap probe collect garbage and read the live heap.
  const child = spawn(process.execPath, ["--inspect=127.0.0.1:0", SERVER, "--port", String(port)], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: `file:${join(dataDir, "dcgan.db")}`,
      LOG_LEVEL: "warn",
      // All the stress clients come from 127.0.0.1.
      MAX_CONNECTIONS_PER_ADDRESS: "1000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Should this process die before stopping the server, the server goes too.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const logCounts = new Map<string, number>();
  const logExamples: string[] = [];
  const logFile = createWriteStream(join(dataDir, "server.log"));
  child.once("exit", () => logFile.end());
  const note = (kind: string, line: string) => {
    logFile.write(`${kind}: ${line}\n`);
    logCounts.set(kind, (logCounts.get(kind) ?? 0) + 1);
    if (logExamples.length < 10) {
      logExamples.push(`${kind}: ${line.slice(0, 300)}`);
      log(`server ${kind}: ${line.slice(0, 300)}`);
    }
  };
  // Both pipes are read to the end: a full pipe would block the server.
  let foundInspector: (url: string) => void = () => undefined;
  const inspectorUrl = new Promise<string>((resolve) => (foundInspector = resolve));
  createInterface({ input: child.stderr! }).on("line", (line) => {
    const inspector = /^Debugger listening on (ws:\S+)/.exec(line)?.[1];
    if (inspector) return foundInspector(inspector);
    if (/^For help, see: https:\/\/nodejs.org|^Debugger (attached|ending)|^Waiting for the debugger/.test(line)) return;
    note("stderr", line);
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code, signal) => reject(new Error(`server exited (${signal ?? code}) before printing its URL`)));
    lines.on("line", (line) => {
      const found = /GraphiQL at (\S+)/.exec(line)?.[1];
      if (found) return resolve(found);
      let level = "stdout";
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string };
        level = entry.level === undefined ? "log" : entry.level >= 60 ? "fatal" : entry.level >= 50 ? "error" : entry.level >= 40 ? "warn" : "log";
      } catch {
        // not a pino line
      }
      note(level, line);
    });
  });
  return { process: child, pid: child.pid!, url, logCounts, logExamples, inspectorUrl };
}

async function stopServer(server: ServerProcess): Promise<number | string | null> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return server.process.exitCode ?? server.process.signalCode;
  const exited = once(server.process, "exit") as Promise<[number | null, string | null]>;
  server.process.kill("SIGTERM");
  const timer = setTimeout(() => server.process.kill("SIGKILL"), 20_000);
  const [code, signal] = await exited;
  clearTimeout(timer);
  return code ?? signal;
}

// ---------------------------------------------------------------------------------------
// Memory and liveness

/**
 * Connections the kernel dropped because a listening socket's accept queue was full
 * (TcpExt ListenOverflows, for the whole network namespace): the client retries its SYN
 * after 1, 3, 7, 15 s, so a server slow to accept looks like a slow connect.
 */
function listenOverflows(): number {
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

interface ProcessSample {
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
class ProcessSampler {
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

interface HeapSample {
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
class HeapProbe {
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
class HealthProbe {
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

// ---------------------------------------------------------------------------------------
// GraphQL over HTTP

async function gql<T>(url: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`${query.slice(0, 40)}...: HTTP ${res.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function startRun(url: string, options: Options, iterations: number, name: string): Promise<string> {
  const { startRun } = await gql<{ startRun: { id: string } }>(
    url,
    `mutation Start($input: StartRunInput!) { startRun(input: $input) { id } }`,
    {
      input: {
        name,
        imageSize: 16,
        channels: 1,
        nz: 8,
        ngf: 4,
        ndf: 4,
        batchSize: 4,
        iterations,
        checkpointEvery: 500,
        sampleEvery: 1000,
        backend: options.backend,
        seed: options.seed,
      },
    },
  );
  return startRun.id;
}

interface RunState {
  status: string;
  iteration: number;
  backend: string | null;
  error: string | null;
}

const FINISHED: readonly string[] = FINISHED_STATUSES;

async function runState(url: string, id: string): Promise<RunState> {
  const { run } = await gql<{ run: RunState | null }>(url, `query State($id: ID!) { run(id: $id) { status iteration backend error } }`, { id });
  if (!run) throw new Error(`run ${id} is gone`);
  return run;
}

/** Polls until the run finished; `onPoll` sees each state. */
async function waitForRun(url: string, id: string, signal: AbortSignal, onPoll: (state: RunState) => void = () => undefined): Promise<RunState> {
  for (;;) {
    const state = await runState(url, id);
    onPoll(state);
    if (FINISHED.includes(state.status) || signal.aborted) return state;
    await sleep(250, signal);
  }
}

/** Iterations per second of a finished run, from its stored iterations' timestamps. */
async function iterationsPerSecond(url: string, id: string): Promise<number> {
  const { run } = await gql<{ run: { metrics: { iteration: number; timestamp: string }[] } }>(
    url,
    `query Rate($id: ID!) { run(id: $id) { metrics { iteration timestamp } } }`,
    { id },
  );
  const first = run.metrics[0];
  const last = run.metrics[run.metrics.length - 1];
  if (!first || !last || last.iteration === first.iteration) return Number.NaN;
  return (last.iteration - first.iteration) / ((Date.parse(last.timestamp) - Date.parse(first.timestamp)) / 1000);
}

// ---------------------------------------------------------------------------------------

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Cores used between two samples, by the server, its children and this process, as percentages. */
function cpuShares(a: ProcessSample, b: ProcessSample): { server: string; children: string; self: string } {
  const seconds = (b.t - a.t) / 1000;
  const pct = (cpu: number) => `${fmt((100 * cpu) / seconds, 0)} %`;
  return { server: pct(b.serverCpu - a.serverCpu), children: pct(b.childrenCpu - a.childrenCpu), self: pct(b.selfCpu - a.selfCpu) };
}

function peakKb(samples: ProcessSample[], key: "serverKb" | "childrenKb"): number {
  return samples.reduce((max, s) => Math.max(max, s[key]), 0);
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n");
}

function sortedCounts(counts: Map<string, number>): [string, string][] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => [k, String(v)]);
}

async function main(): Promise<number> {
  const options = readOptions(process.argv.slice(2));
  const wallStarted = performance.now();
  const dataDir = await mkdtemp(join(tmpdir(), "dcgan-stress-"));
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort());

  log(`starting the server (${SERVER}) in ${dataDir}`);
  const server = await startServer(dataDir, options.port);
  const wsUrl = server.url.replace(/^http/, "ws");
  const sampler = new ProcessSampler(server.pid, wallStarted);
  const health = new HealthProbe(server.url);
  log(`server pid ${server.pid} at ${server.url}, RSS ${fmt(mb(sampler.latest()?.serverKb ?? 0))} MB`);
  let heap: HeapProbe | undefined;

  try {
    heap = await HeapProbe.connect(await server.inspectorUrl, () => sampler.now());
    // A run alone first: the training speed without stress, and the server warmed up.
    let baselineRate = Number.NaN;
    if (options.baselineIterations > 0) {
      const id = await startRun(server.url, options, options.baselineIterations, "stress baseline");
      const state = await waitForRun(server.url, id, interrupt.signal);
      if (state.status !== "COMPLETED") throw new Error(`the baseline run ended ${state.status}: ${state.error ?? ""}`);
      baselineRate = await iterationsPerSecond(server.url, id);
      log(`baseline: ${options.baselineIterations} iterations on ${state.backend} at ${fmt(baselineRate)} it/s`);
    }
    const idleKb = sampler.sample()?.serverKb ?? Number.NaN;
    const heapStart = await heap.measure();
    heap.start(HEAP_INTERVAL_MS);

    // The stressed run, its subscribers and the flood.
    const stressStarted = sampler.now();
    const overflowsBefore = listenOverflows();
    const runId = await startRun(server.url, options, options.iterations, "stress");
    const stress = new AbortController();
    setMaxListeners(options.subscribers + 10, stress.signal);
    const abortStress = () => stress.abort();
    interrupt.signal.addEventListener("abort", abortStress);
    const deadline = setTimeout(abortStress, options.timeout * 1000);

    const subscribers = Array.from(
      { length: options.subscribers },
      (_, i) =>
        new Subscriber(i, {
          wsUrl,
          runId,
          iterations: options.iterations,
          rng: Rng.stream(options.seed, "stress subscriber", i),
          disconnectMeanMs: options.disconnectMean,
          reconnectMaxMs: options.reconnectMax,
        }),
    );
    const subscribed = Promise.all(subscribers.map((s) => s.run(stress.signal)));
    const flood = new AbortController();
    stress.signal.addEventListener("abort", () => flood.abort());
    const flooder = new Flooder({
      httpUrl: server.url,
      wsUrl,
      runId,
      rng: Rng.stream(options.seed, "stress flooder"),
      httpConcurrency: options.floodHttp,
      wsConcurrency: options.floodWs,
    });
    const flooding = flooder.run(flood.signal);

    let lastState: RunState | undefined;
    let runFinishedAt = Number.NaN;
    let previous = sampler.latest();
    const report = setInterval(() => {
      const delivered = subscribers.reduce((sum, s) => sum + s.stats.received, 0);
      const reconnects = subscribers.reduce((sum, s) => sum + s.stats.subscriptions - 1, 0);
      const finished = subscribers.filter((s) => s.stats.finished).length;
      const m = sampler.latest();
      const cpu = m && previous ? cpuShares(previous, m) : undefined;
      previous = m;
      log(
        `${fmt((sampler.now() - stressStarted) / 1000, 0)} s: iteration ${lastState?.iteration ?? 0}/${options.iterations} ${lastState?.status ?? ""}, ` +
          `delivered ${delivered}, reconnects ${reconnects}, finished ${finished}/${options.subscribers}, ` +
          `flood ${flooder.stats.httpSent} HTTP + ${flooder.stats.wsSent} WS, ` +
          `RSS server ${fmt(mb(m?.serverKb ?? 0))} MB training ${fmt(mb(m?.childrenKb ?? 0))} MB` +
          (cpu ? `, CPU server ${cpu.server} training ${cpu.children} stress ${cpu.self}` : ""),
      );
    }, 5000);

    const finalState = await waitForRun(server.url, runId, stress.signal, (s) => (lastState = s));
    runFinishedAt = sampler.now();
    await subscribed;
    const subscribersDoneAt = sampler.now();
    const overflows = listenOverflows() - overflowsBefore;
    flood.abort();
    await flooding;
    clearInterval(report);
    clearTimeout(deadline);
    const timedOut = stress.signal.aborted && !interrupt.signal.aborted;
    const stressSeconds = (subscribersDoneAt - stressStarted) / 1000;

    // Memory once the stress is over, after a moment to settle.
    await sleep(2000);
    const end = sampler.sample();
    const heapEnd = await heap.measure();
    sampler.stop();
    await health.stop();
    await heap.close();
    const stressRate = finalState.status === "COMPLETED" ? await iterationsPerSecond(server.url, runId) : Number.NaN;

    // --- figures
    const stats = subscribers.map((s) => s.stats);
    const sum = (f: (s: (typeof stats)[number]) => number) => stats.reduce((total, s) => total + f(s), 0);
    const delivered = sum((s) => s.received);
    const duplicates = sum((s) => s.duplicates);
    const missing = sum((s) => s.missing);
    const beyond = sum((s) => s.beyondEnd);
    const incomplete = stats.filter((s) => !s.finished || s.lastSeen !== options.iterations).length;
    const reconnects = sum((s) => s.subscriptions - 1);
    const tooSlow = sum((s) => s.tooSlow);
    const tooSlowMismatch = sum((s) => s.tooSlowAfterMismatch);
    const unexpected = new Map<string, number>();
    for (const s of stats) for (const [k, v] of s.unexpected) unexpected.set(k, (unexpected.get(k) ?? 0) + v);
    const anomalies = stats.flatMap((s) => s.anomalies).slice(0, 10);
    const connectLatency = new Latencies();
    for (const s of stats) for (const ms of s.connectLatency.all()) connectLatency.add(ms);

    // Bounded: the peak from the run's second half until the last subscriber caught up is
    // not much above the peak of the run's first half (the connection storm included).
    const window = sampler.between(stressStarted, subscribersDoneAt);
    const middle = (stressStarted + runFinishedAt) / 2;
    const firstHalf = window.filter((s) => s.t <= middle);
    const secondHalf = window.filter((s) => s.t > middle);
    const startKb = window[0]?.serverKb ?? Number.NaN;
    const peakFirst = peakKb(firstHalf, "serverKb");
    const peakSecond = peakKb(secondHalf, "serverKb");
    const peakAfterRun = peakKb(sampler.between(runFinishedAt, subscribersDoneAt), "serverKb");
    const heapPeak = (samples: HeapSample[]) => samples.reduce((max, h) => Math.max(max, h.liveMb), 0);
    const heapFirst = heapPeak(heap.between(stressStarted, middle));
    const heapAfter = heapPeak(heap.between(middle, subscribersDoneAt));
    const heapGrowth = heapAfter - heapFirst;
    const growthMb = mb(peakSecond - peakFirst);
    const floodStats = flooder.stats;

    const checks: Check[] = [
      {
        name: "the run completed",
        ok: finalState.status === "COMPLETED" && !timedOut,
        detail: timedOut ? `gave up after ${options.timeout} s at iteration ${lastState?.iteration ?? 0}` : `${finalState.status} at iteration ${finalState.iteration}${finalState.error ? `: ${finalState.error}` : ""}`,
      },
      {
        name: "every subscriber saw every iteration exactly once, in order",
        ok: incomplete === 0 && duplicates === 0 && missing === 0 && beyond === 0 && delivered === options.subscribers * options.iterations,
        detail: `${options.subscribers - incomplete}/${options.subscribers} complete, ${delivered} delivered of ${options.subscribers * options.iterations}, ${duplicates} duplicates, ${missing} missing, ${beyond} beyond the end`,
      },
      {
        name: "SUBSCRIBER_TOO_SLOW named the last iteration delivered",
        ok: tooSlowMismatch === 0,
        detail: `${tooSlow} streams ended too slow, ${tooSlowMismatch} with another after`,
      },
      {
        name: "the server's memory stayed bounded",
        ok: secondHalf.length > 0 && growthMb <= options.rssGrowth && heapGrowth <= options.rssGrowth,
        detail:
          `peak RSS ${fmt(mb(peakFirst))} MB in the run's first half, ${fmt(mb(peakSecond))} MB after (${growthMb >= 0 ? "+" : ""}${fmt(growthMb)} MB); ` +
          `live heap ${fmt(heapFirst)} then ${fmt(heapAfter)} MB (${heapGrowth >= 0 ? "+" : ""}${fmt(heapGrowth)} MB); allowed +${options.rssGrowth} MB`,
      },
      {
        name: "no 5xx without a GraphQL errors body",
        ok: floodStats.bare5xxCount === 0,
        detail: floodStats.bare5xxCount === 0 ? `${floodStats.httpSent} bad HTTP requests` : `${floodStats.bare5xxCount}: ${floodStats.bare5xx.join(" | ")}`,
      },
      {
        name: "foreign Hosts, oversized and malformed WebSocket frames were refused",
        ok: floodStats.transportNotRefusedCount === 0,
        detail: floodStats.transportNotRefusedCount === 0 ? "all of them" : `${floodStats.transportNotRefusedCount}: ${floodStats.transportNotRefused.join(" | ")}`,
      },
      {
        name: "the server wrote nothing to stderr (its log is stdout)",
        ok: !server.logCounts.has("stderr"),
        detail: `${server.logCounts.get("stderr") ?? 0} lines`,
      },
      {
        name: "the server answered every request",
        ok: floodStats.unansweredCount === 0 && health.failures === 0,
        detail:
          `${floodStats.unansweredCount} bad operations and ${health.failures}/${health.probes} /healthz probes unanswered; ` +
          `slowest answer ${fmt(Math.max(floodStats.httpLatency.max, floodStats.wsLatency.max, health.latency.max), 0)} ms` +
          (floodStats.unanswered.length + health.failureExamples.length ? `: ${[...floodStats.unanswered, ...health.failureExamples].slice(0, 5).join(" | ")}` : ""),
      },
    ];

    const machine = `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
    const out: string[] = [];
    out.push(
      `\nStress: one run of ${options.iterations} iterations (${finalState.backend ?? options.backend}, 16x16 grey, ngf=ndf=4, batch 4), ` +
        `${options.subscribers} subscribers, flood ${options.floodHttp} HTTP + ${options.floodWs} WebSocket in flight, seed ${options.seed}`,
    );
    out.push(`Machine: ${machine}\n`);
    out.push("Training");
    out.push(
      table([
        ["iterations/s alone", Number.isFinite(baselineRate) ? `${fmt(baselineRate)} (a ${options.baselineIterations}-iteration run first)` : "-"],
        ["iterations/s under stress", `${fmt(stressRate)}${Number.isFinite(baselineRate) ? ` (${fmt((100 * stressRate) / baselineRate, 0)} %)` : ""}`],
        ["run finished after", `${fmt((runFinishedAt - stressStarted) / 1000)} s; subscribers all done after ${fmt(stressSeconds)} s`],
      ]),
    );
    out.push("\nSubscribers");
    out.push(
      table([
        ["subscribers complete", `${options.subscribers - incomplete} / ${options.subscribers}`],
        ["messages delivered", `${delivered} (${fmt(delivered / stressSeconds, 0)}/s)`],
        ["duplicates / missing", `${duplicates} / ${missing}`],
        ["subscriptions", `${sum((s) => s.subscriptions)} (${reconnects} resubscriptions with after, ${fmt(reconnects / options.subscribers)} per subscriber)`],
        ["connections acknowledged", String(sum((s) => s.connections))],
        ["connect to connection_ack", connectLatency.summary()],
        ["dropped by the subscriber", `${sum((s) => s.disconnects.terminate)} TCP resets, ${sum((s) => s.disconnects.close)} closes, ${sum((s) => s.disconnects.unsubscribe)} complete+close`],
        ["ended SUBSCRIBER_TOO_SLOW", String(tooSlow)],
        ...sortedCounts(unexpected).map(([k, v]): [string, string] => [`ended by server: ${k}`, v]),
      ]),
    );
    if (anomalies.length) out.push(`  first anomalies: ${anomalies.join("; ")}`);
    out.push("\nFlood");
    out.push(
      table([
        ["bad HTTP requests", `${floodStats.httpSent} (${fmt(floodStats.httpSent / stressSeconds, 0)}/s)`],
        ["bad WebSocket sessions", `${floodStats.wsSent} (${fmt(floodStats.wsSent / stressSeconds, 1)}/s)`],
        ["HTTP answers", floodStats.httpLatency.summary()],
        ["WebSocket sessions (upgrade to reaction)", floodStats.wsLatency.summary()],
        ...sortedCounts(floodStats.outcomes).map(([k, v]): [string, string] => [`  ${k}`, v]),
      ]),
    );
    out.push("\nFlood by operation (sent: outcomes, slowest answer)");
    out.push(
      table(
        [...floodStats.byOp.entries()]
          .sort((a, b) => a[0].localeCompare(b[0]))
          .map(([op, e]): [string, string] => [
            op,
            `${e.sent}: ${[...e.outcomes].map(([k, v]) => `${k.replace(/^(HTTP|WS) /, "")} x${v}`).join(", ")}; ${fmt(e.maxLatencyMs, 0)} ms`,
          ]),
      ),
    );
    if (floodStats.wsInternalErrors > 0) {
      out.push(`  WARNING: ${floodStats.wsInternalErrors} WebSocket sessions closed with 4500 (internal error): ${[...floodStats.wsInternalErrorExamples].join(" | ")}`);
    }
    out.push("\nServer");
    const trainingPeak = peakKb(window, "childrenKb");
    out.push(
      table([
        ["RSS idle (before the stress)", `${fmt(mb(idleKb))} MB`],
        ["RSS at start of the stress", `${fmt(mb(startKb))} MB`],
        ["RSS peak, run's first half / after", `${fmt(mb(peakFirst))} / ${fmt(mb(peakSecond))} MB (${growthMb >= 0 ? "+" : ""}${fmt(growthMb)} MB)`],
        ["RSS peak while subscribers caught up", `${fmt(mb(peakAfterRun))} MB (after the run finished)`],
        [
          "live heap (after a full GC)",
          `${fmt(heapStart.liveMb)} MB at the start, peak ${fmt(heapFirst)} / ${fmt(heapAfter)} MB (${heapGrowth >= 0 ? "+" : ""}${fmt(heapGrowth)} MB), ` +
            `${fmt(heapEnd.liveMb)} MB at the end; measured every ${HEAP_INTERVAL_MS / 1000} s`,
        ],
        ["RSS at the end", `${fmt(mb(end?.serverKb ?? Number.NaN))} MB (2 s after the last subscriber)`],
        ["training process RSS peak", `${fmt(mb(trainingPeak))} MB`],
        ["CPU during the stress", window.length > 1 ? (({ server, children, self }) => `server ${server}, training ${children}, this stress client ${self} (of ${cpus().length * 100} %)`)(cpuShares(window[0]!, window[window.length - 1]!)) : "-"],
        ["TCP listen queue overflows", `${overflows} (dropped connection attempts on this host during the stress)`],
        ["/healthz", `${health.probes} probes, ${health.failures} failed; ${health.latency.summary()}`],
        ["log lines (warn and above; stderr)", server.logCounts.size ? [...server.logCounts].map(([k, v]) => `${v} ${k}`).join(", ") : "none"],
      ]),
    );
    out.push("\nChecks");
    for (const c of checks) out.push(`  ${c.ok ? "PASS" : "FAIL"}  ${c.name}: ${c.detail}`);
    out.push(`\nWall time ${fmt((performance.now() - wallStarted) / 1000)} s`);
    process.stdout.write(`${out.join("\n")}\n`);

    if (options.json) {
      await writeFile(
        options.json,
        JSON.stringify(
          {
            date: new Date().toISOString(),
            machine,
            options,
            baselineRate,
            stressRate,
            subscribers: { delivered, duplicates, missing, incomplete, reconnects, tooSlow, unexpected: Object.fromEntries(unexpected), anomalies },
            flood: { httpSent: floodStats.httpSent, wsSent: floodStats.wsSent, outcomes: Object.fromEntries(floodStats.outcomes), wsInternalErrors: floodStats.wsInternalErrors },
            memoryMb: { idle: mb(idleKb), start: mb(startKb), peakFirstHalf: mb(peakFirst), peakAfter: mb(peakSecond), peakCatchUp: mb(peakAfterRun), liveHeap: { start: heapStart.liveMb, peakFirstHalf: heapFirst, peakAfter: heapAfter, end: heapEnd.liveMb }, end: mb(end?.serverKb ?? Number.NaN), trainingPeak: mb(trainingPeak) },
            health: { probes: health.probes, failures: health.failures, medianMs: health.latency.percentile(50), maxMs: health.latency.max },
            checks,
          },
          null,
          2,
        ),
      );
    }
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    sampler.stop();
    await health.stop();
    await heap?.close();
    const exit = await stopServer(server);
    if (exit !== 0) log(`the server exited with ${exit}`);
    if (!options.keep) await rm(dataDir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  log(`stress: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 2;
}
