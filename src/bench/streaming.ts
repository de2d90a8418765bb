import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { BUILT_SERVER, type ServerChild, spawnServerProcess } from "../process/server-process.js";
import { type BenchRun, RUN_SHAPE, wallImagesPerSecond } from "./bench-run.js";
import { cpuSeconds, rssKb } from "./process-stats.js";
import { percentile } from "./stats.js";

export interface StreamingResult {
  subscribers: number;
  /** Throughput of the streamed run, from its iterations' timestamps. */
  imagesPerSecond: number;
  iterations: number;
  /** Subscribers that received every iteration exactly once. */
  complete: number;
  p50Ms: number;
  p99Ms: number;
  /** The server's CPU time per second of the run, as a share of one core. */
  serverCpu: number;
  serverCpuPerSubscriber: number;
  /** The server's RSS growth from idle to all subscribers connected, per subscriber. */
  kbPerSubscriber: number;
}

/** Resident memory (kB) and CPU seconds of a process that is still running. */
export function processStats(pid: number): { rssKb: number; cpuSeconds: number } {
  return { rssKb: rssKb(pid) ?? Number.NaN, cpuSeconds: cpuSeconds(pid) ?? Number.NaN };
}

/** One graphql-ws subscriber on a raw socket: as light a client as can be, so that the server is what is measured. */
export async function subscribe(
  url: string,
  runId: string,
  onIteration: (iteration: number, finishedAt: number) => void,
  after?: number,
): Promise<{ done: Promise<void>; socket: WebSocket }> {
  const socket = new WebSocket(url, "graphql-transport-ws");
  await once(socket, "open");
  let acknowledged!: () => void;
  const ack = new Promise<void>((resolve) => (acknowledged = resolve));
  const done = new Promise<void>((resolve, reject) => {
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: { data?: { runProgress: { iteration: number; timestamp: string } } } };
      if (message.type === "connection_ack") acknowledged();
      else if (message.type === "next") {
        const { iteration, timestamp } = message.payload!.data!.runProgress;
        onIteration(iteration, Date.parse(timestamp));
      }
      else if (message.type === "complete") resolve();
      else if (message.type === "error") reject(new Error(JSON.stringify(message.payload)));
    });
    socket.on("close", () => reject(new Error("socket closed before the stream completed")));
  });
  socket.send(JSON.stringify({ type: "connection_init" }));
  await ack;
  const query = `subscription ($runId: ID!, $after: Int) { runProgress(runId: $runId, after: $after) { iteration timestamp lossD lossG dX dGz1 dGz2 } }`;
  socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { runId, after } } }));
  return { done, socket };
}

/**
 * Subscribers of one run, the server in its own process: latency from the training
 * process finishing an iteration (its timestamp) to each client receiving it, the
 * server's CPU and memory per subscriber, and the run's throughput.
 */
export async function benchStreaming(subscribers: number, { iterations, writeEvery, dataset, threads }: BenchRun): Promise<StreamingResult> {
  return withServer(subscribers, async ({ url, pid, gql }) => {
    // A run queued behind a first one that holds the only training slot, so that every
    // subscriber is listening before its first iteration.
    const blocker = await gql<{ startRun: { id: string } }>(`mutation { startRun(input: { imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, iterations: 100000000, backend: CPU }) { id } }`);
    const shape = Object.entries(RUN_SHAPE).map(([key, value]) => `${key}: ${value}`).join(", ");
    const run = await gql<{ startRun: { id: string } }>(
      `mutation { startRun(input: { ${shape}, iterations: ${iterations}, sampleEvery: ${writeEvery}, checkpointEvery: ${writeEvery}, dataset: { kind: ${dataset} }, backend: WASM, threads: ${threads} }) { id } }`,
    );
    const idle = processStats(pid);
    const latencies: number[] = [];
    const timestamps: number[] = [];
    const seen = Array.from({ length: subscribers }, () => [] as number[]);
    const wsUrl = url.replace(/^http/, "ws");
    const clients = [];
    for (let i = 0; i < subscribers; i++) {
      clients.push(
        await subscribe(wsUrl, run.startRun.id, (iteration, finishedAt) => {
          latencies.push(Date.now() - finishedAt);
          if (i === 0) timestamps.push(finishedAt);
          seen[i]!.push(iteration);
        }),
      );
    }
    const connected = processStats(pid);
    await gql(`mutation { stopRun(id: "${blocker.startRun.id}") { id } }`);
    const started = performance.now();
    await Promise.all(clients.map((c) => c.done));
    const seconds = (performance.now() - started) / 1000;
    const finished = processStats(pid);
    for (const c of clients) c.socket.close();
    const expected = Array.from({ length: iterations }, (_, i) => i + 1);
    const serverCpu = (finished.cpuSeconds - connected.cpuSeconds) / seconds;
    return {
      subscribers,
      imagesPerSecond: wallImagesPerSecond(timestamps, RUN_SHAPE.batchSize),
      iterations,
      complete: seen.filter((s) => s.length === iterations && s.every((n, i) => n === expected[i])).length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      serverCpu,
      serverCpuPerSubscriber: serverCpu / subscribers,
      kbPerSubscriber: (connected.rssKb - idle.rssKb) / subscribers,
    };
  });
}

/** Posts a query to the server at `url` and returns its data; GraphQL errors throw. */
export async function gqlAt<D = unknown>(url: string, query: string): Promise<D> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: D; errors?: unknown };
  if (!body.data) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The server in its own process, with a fresh data folder, for `fn`; `gql` posts a query and returns its data. */
async function withServer<T>(
  subscribers: number,
  fn: (server: { url: string; pid: number; gql<D = unknown>(query: string): Promise<D> }) => Promise<T>,
): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), "dcgan-bench-"));
  let server: ServerChild | undefined;
  try {
    server = await spawnServerProcess({
      command: [process.execPath, BUILT_SERVER],
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: "warn", MAX_CONNECTIONS_PER_ADDRESS: String(subscribers + 10) },
      onStderr: (line) => process.stderr.write(`${line}\n`),
    });
    const { url } = server;
    return await fn({ url, pid: server.pid, gql: (query) => gqlAt(url, query) });
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export interface LiveTailRow {
  /** "identical": every subscriber sends after: 0; "different after": subscriber i sends after: i mod history. */
  variant: "identical" | "different after";
  subscribers: number;
  /** Iterations stored before the subscribers joined, each replaying those after its `after`. */
  history: number;
  /** Iterations trained while they listened. */
  live: number;
  /** Subscribers that received every iteration after their `after` exactly once, in order. */
  complete: number;
  liveMessages: number;
  /** The server's CPU time while the live iterations streamed, per live message delivered. */
  serverCpuUsPerMessage: number;
  /** The server's CPU time per second of that streaming, as a share of one core. */
  serverCpu: number;
  /** Latency of live messages, from the training process finishing the iteration to the client. */
  p50Ms: number;
  p99Ms: number;
}

/**
 * Issue 13's viewers: a run with a history is watched by `subscribers` that either all
 * send the same `after` or each their own, so they replay different amounts and then
 * join the live tail. The run stops after `history` iterations and waits, queued behind
 * another, until every subscriber has replayed; then it resumes and trains `live` more
 * while they listen. The server's CPU is measured over those live iterations only. The
 * two variants alternate `rounds` times, so that the VM's drift hits both alike; each
 * row is its variant's median round, with the range of all.
 */
export async function benchLiveTail(subscribers = 1000, rounds = 3, history = 20, live = 30): Promise<{ rows: LiveTailRow[]; table: string }> {
  const variants = ["identical", "different after"] as const;
  const measured = variants.map(() => [] as LiveTailRow[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, variant] of variants.entries()) {
      measured[i]!.push(await benchLiveTailVariant(variant, subscribers, history, live));
      process.stderr.write(`live tail, round ${round + 1}: ${JSON.stringify(measured[i]!.at(-1))}\n`);
    }
  }
  const cpu = (r: LiveTailRow) => r.serverCpuUsPerMessage;
  const rows = measured.map((runs) => [...runs].sort((a, b) => cpu(a) - cpu(b))[Math.floor((runs.length - 1) / 2)]!);
  const range = (runs: LiveTailRow[]) => `${Math.min(...runs.map(cpu)).toFixed(1)}-${Math.max(...runs.map(cpu)).toFixed(1)}`;
  const table = [
    `| subscribers of one run's live tail (config (b), wasm), median of ${rounds} alternating rounds | complete | live messages | server CPU per live message | range | server CPU, share of a core | latency p50 ms | p99 ms |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r, i) =>
        `| ${r.subscribers}, ${r.variant === "identical" ? "identical (after: 0)" : `each its own after (i mod ${r.history})`}, ${r.history} stored then ${r.live} live iterations | ${r.complete} | ${r.liveMessages} | ${r.serverCpuUsPerMessage.toFixed(1)} µs | ${range(measured[i]!)} µs | ${(100 * r.serverCpu).toFixed(1)} % | ${r.p50Ms} | ${r.p99Ms} |`,
    ),
  ].join("\n");
  return { rows, table };
}

async function benchLiveTailVariant(variant: LiveTailRow["variant"], subscribers: number, history: number, live: number): Promise<LiveTailRow> {
  return withServer(subscribers, async ({ url, pid, gql }) => {
    const shape = Object.entries(RUN_SHAPE).map(([key, value]) => `${key}: ${value}`).join(", ");
    const total = history + live;
    const run = (await gql<{ startRun: { id: string } }>(
      `mutation { startRun(input: { ${shape}, iterations: ${total}, sampleEvery: 100000, checkpointEvery: 100000, dataset: { kind: SYNTHETIC }, backend: WASM }) { id } }`,
    )).startRun.id;
    const status = async () => (await gql<{ run: { status: string; iteration: number } }>(`{ run(id: "${run}") { status iteration } }`)).run;
    const poll = async (done: (r: { status: string; iteration: number }) => boolean) => {
      for (let r = await status(); ; r = await status()) {
        if (done(r)) return r;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await poll((r) => r.iteration >= history);
    await gql(`mutation { stopRun(id: "${run}") { id } }`);
    // Where it stopped: a checkpoint there, the history stored up to it.
    const stored = (await poll((r) => r.status === "STOPPED")).iteration;
    // The only training slot taken, so that the run resumes only when the subscribers are ready.
    const blocker = (await gql<{ startRun: { id: string } }>(
      `mutation { startRun(input: { imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, iterations: 100000000, backend: CPU }) { id } }`,
    )).startRun.id;
    await gql(`mutation { resumeRun(id: "${run}") { id } }`);

    const afters = Array.from({ length: subscribers }, (_, i) => (variant === "identical" ? 0 : i % stored));
    const seen = afters.map(() => [] as number[]);
    const latencies: number[] = [];
    let replayed = 0;
    let allReplayed!: () => void;
    const replays = new Promise<void>((resolve) => (allReplayed = resolve));
    const expectedReplays = afters.reduce((sum, after) => sum + stored - after, 0);
    const wsUrl = url.replace(/^http/, "ws");
    const clients = [];
    for (const [i, after] of afters.entries()) {
      clients.push(
        await subscribe(
          wsUrl,
          run,
          (iteration, finishedAt) => {
            seen[i]!.push(iteration);
            if (iteration > stored) latencies.push(Date.now() - finishedAt);
            else if (++replayed === expectedReplays) allReplayed();
          },
          after,
        ),
      );
    }
    await replays;
    const before = processStats(pid);
    await gql(`mutation { stopRun(id: "${blocker}") { id } }`);
    const started = performance.now();
    // Every message of the live iterations arrived: the streams complete as the run does.
    await Promise.all(clients.map((c) => c.done));
    const seconds = (performance.now() - started) / 1000;
    const after = processStats(pid);
    for (const c of clients) c.socket.close();
    const complete = seen.filter((s, i) => s.length === total - afters[i]! && s.every((n, k) => n === afters[i]! + k + 1)).length;
    const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
    return {
      variant,
      subscribers,
      history: stored,
      live: total - stored,
      complete,
      liveMessages: latencies.length,
      serverCpuUsPerMessage: (1e6 * cpuSeconds) / latencies.length,
      serverCpu: cpuSeconds / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  });
}
