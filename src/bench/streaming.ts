import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { type BenchRun, RUN_SHAPE, wallImagesPerSecond } from "./bench-run.js";
import { cpuSeconds, rssKb } from "./process-stats.js";
import { percentile } from "./stats.js";

const SERVER = fileURLToPath(new URL("../server/main.js", import.meta.url));

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
function processStats(pid: number): { rssKb: number; cpuSeconds: number } {
  return { rssKb: rssKb(pid) ?? Number.NaN, cpuSeconds: cpuSeconds(pid) ?? Number.NaN };
}

/** One graphql-ws subscriber on a raw socket: as light a client as can be, so that the server is what is measured. */
async function subscribe(url: string, runId: string, onIteration: (iteration: number, finishedAt: number) => void): Promise<{ done: Promise<void>; socket: WebSocket }> {
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
  const query = `subscription ($runId: ID!) { runProgress(runId: $runId) { iteration timestamp lossD lossG dX dGz1 dGz2 } }`;
  socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { runId } } }));
  return { done, socket };
}

/**
 * Subscribers of one run, the server in its own process: latency from the training
 * process finishing an iteration (its timestamp) to each client receiving it, the
 * server's CPU and memory per subscriber, and the run's throughput.
 */
export async function benchStreaming(subscribers: number, { iterations, writeEvery, dataset }: BenchRun): Promise<StreamingResult> {
  const dataDir = await mkdtemp(join(tmpdir(), "dcgan-bench-"));
  const server = spawn(process.execPath, [SERVER, "--port", "0"], {
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: "warn", MAX_CONNECTIONS_PER_ADDRESS: String(subscribers + 10) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    let url = "";
    for await (const line of createInterface({ input: server.stdout! })) {
      url = /GraphiQL at (\S+)/.exec(line)?.[1] ?? "";
      if (url) break;
    }
    if (!url) throw new Error("the server exited before printing its URL");
    const post = async (query: string) => {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
      return ((await res.json()) as { data: { startRun: { id: string } } }).data;
    };
    // A run queued behind a first one that holds the only training slot, so that every
    // subscriber is listening before its first iteration.
    const blocker = await post(`mutation { startRun(input: { imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, iterations: 100000000, backend: CPU }) { id } }`);
    const shape = Object.entries(RUN_SHAPE).map(([key, value]) => `${key}: ${value}`).join(", ");
    const run = await post(
      `mutation { startRun(input: { ${shape}, iterations: ${iterations}, sampleEvery: ${writeEvery}, checkpointEvery: ${writeEvery}, dataset: { kind: ${dataset} }, backend: WASM }) { id } }`,
    );
    const idle = processStats(server.pid!);
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
    const connected = processStats(server.pid!);
    await post(`mutation { stopRun(id: "${blocker.startRun.id}") { id } }`);
    const started = performance.now();
    await Promise.all(clients.map((c) => c.done));
    const seconds = (performance.now() - started) / 1000;
    const finished = processStats(server.pid!);
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
  } finally {
    server.kill("SIGTERM");
    await once(server, "exit");
    await rm(dataDir, { recursive: true, force: true });
  }
}
