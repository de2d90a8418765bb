/**
 * Issue 15: runProgress latency in the distributed deployment (README: Scaling out), from
 * a `dcgan worker` through Redis to raw WebSocket subscribers spread over API replicas,
 * against one replica holding them all. Real processes, as the distributed tests run
 * them, but the built ones (dist/): a throwaway PostgreSQL and Redis (src/dev/), a fresh
 * migrated database per setup, replicas with training off, one worker.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { startPostgresServer } from "../dev/postgres-server.js";
import { startRedisServer } from "../dev/redis-server.js";
import { BUILT_SERVER, type ServerChild, spawnServerProcess } from "../process/server-process.js";
import { migrateDatabase } from "../server/store/migrate.js";
import { type BenchRun, RUN_SHAPE, wallImagesPerSecond } from "./bench-run.js";
import { percentile } from "./stats.js";
import { gqlAt, processStats, subscribe } from "./streaming.js";

/** The built CLI (dist/cli/main.js, next to this file's dist/bench). */
const BUILT_CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/** The setups compared: all subscribers on one replica, then spread evenly over two. */
const SETUPS = [1, 2] as const;
const SUBSCRIBERS = 500;

/** Time for the replicas to set up the last subscriptions (their stream readers) before the worker starts. */
const SETTLE_MS = 1000;

export interface DistributedRow {
  replicas: number;
  subscribers: number;
  iterations: number;
  /** Subscribers that received every iteration exactly once, in order. */
  complete: number;
  /** Latency samples: one per iteration per subscriber. */
  samples: number;
  /** From the iteration's timestamp (the worker's training process) to its arrival at a subscriber. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Each replica's CPU time per second, first iteration's arrival to the last stream's end, as a share of one core. */
  replicaCpu: number[];
  /** The run's throughput on the worker, from its iterations' timestamps. */
  imagesPerSecond: number;
}

/**
 * For each setup, on a fresh database and an empty Redis: `SUBSCRIBERS` subscribers of a
 * run queued while no worker runs, split over the replicas; then a worker starts, takes
 * the run and trains it while they listen.
 */
export async function benchDistributed(run: BenchRun): Promise<{ rows: DistributedRow[]; table: string }> {
  const [postgres, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
  const dataDir = await mkdtemp(join(tmpdir(), "dcgan-bench-distributed-"));
  const rows: DistributedRow[] = [];
  try {
    // Migrating takes a Prisma CLI run: once, on a template each setup's database copies.
    await migrateDatabase(await postgres.createDatabase("bench_template"));
    for (const replicas of SETUPS) {
      const flush = new Redis(redis.url);
      await flush.flushall();
      await flush.quit();
      const env = {
        DATABASE_URL: await postgres.createDatabase(`bench_${replicas}_replicas`, "bench_template"),
        REDIS_URL: redis.url,
        DATA_DIR: dataDir,
      };
      rows.push(await benchSetup(replicas, env, run));
      process.stderr.write(`distributed: ${JSON.stringify(rows.at(-1))}\n`);
    }
  } finally {
    await Promise.allSettled([postgres.stop(), redis.stop(), rm(dataDir, { recursive: true, force: true })]);
  }
  const table = [
    `| ${SUBSCRIBERS} runProgress subscribers (after: 0) of one run on a \`dcgan worker\` (config (b), wasm, ${run.iterations} iterations), through Redis | complete | latency samples | p50 ms | p99 ms | max ms | each replica's CPU, share of a core | run images/s |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.replicas === 1 ? `1 replica with ${r.subscribers}` : `${r.replicas} replicas with ${r.subscribers / r.replicas} each`} | ${r.complete} | ${r.samples} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.replicaCpu.map((c) => `${(100 * c).toFixed(1)} %`).join(", ")} | ${r.imagesPerSecond.toFixed(1)} |`,
    ),
  ].join("\n");
  return { rows, table };
}

/** DCGAN_BENCH_ONLY=distributed: this section alone, printed and written as JSON. */
async function benchSetup(replicaCount: number, env: Record<string, string>, { iterations, writeEvery, dataset, threads }: BenchRun): Promise<DistributedRow> {
  const replicas: ServerChild[] = [];
  let worker: ChildProcess | undefined;
  try {
    for (let i = 0; i < replicaCount; i++) {
      replicas.push(
        await spawnServerProcess({
          command: [process.execPath, BUILT_SERVER],
          env: { ...process.env, ...env, TRAINING: "off", LOG_LEVEL: "warn", MAX_CONNECTIONS_PER_ADDRESS: String(SUBSCRIBERS + 10) },
          killOnExit: true,
          onStderr: (line) => process.stderr.write(`replica ${i + 1}: ${line}\n`),
        }),
      );
    }
    // Queued with no worker yet: it trains only once every subscriber listens.
    const shape = Object.entries(RUN_SHAPE).map(([key, value]) => `${key}: ${value}`).join(", ");
    const { startRun } = await gqlAt<{ startRun: { id: string } }>(
      replicas[0]!.url,
      `mutation { startRun(input: { ${shape}, iterations: ${iterations}, sampleEvery: ${writeEvery}, checkpointEvery: ${writeEvery}, dataset: { kind: ${dataset} }, backend: WASM, threads: ${threads} }) { id } }`,
    );
    const latencies: number[] = [];
    const timestamps: number[] = [];
    const seen = Array.from({ length: SUBSCRIBERS }, () => [] as number[]);
    let cpuFrom: { at: number; cpu: number[] } | undefined;
    const replicaCpu = () => replicas.map((r) => processStats(r.pid).cpuSeconds);
    const clients = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      // Subscriber i on replica i mod n: the replicas share them evenly.
      const url = replicas[i % replicaCount]!.url.replace(/^http/, "ws");
      clients.push(
        await subscribe(
          url,
          startRun.id,
          (iteration, finishedAt) => {
            const now = Date.now();
            cpuFrom ??= { at: performance.now(), cpu: replicaCpu() };
            latencies.push(now - finishedAt);
            if (i === 0) timestamps.push(finishedAt);
            seen[i]!.push(iteration);
          },
          0,
        ),
      );
    }
    await delay(SETTLE_MS);
    worker = await spawnWorker(env);
    // A stuck stream fails the bench rather than hanging it.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the run's streams did not all complete within ${120 + iterations * 5} s`)), 120_000 + iterations * 5_000);
    });
    await Promise.race([Promise.all(clients.map((c) => c.done)), timeout]).finally(() => clearTimeout(timer));
    const seconds = (performance.now() - cpuFrom!.at) / 1000;
    const cpuTo = replicaCpu();
    for (const c of clients) c.socket.close();
    const expected = Array.from({ length: iterations }, (_, i) => i + 1);
    return {
      replicas: replicaCount,
      subscribers: SUBSCRIBERS,
      iterations,
      complete: seen.filter((s) => s.length === iterations && s.every((n, k) => n === expected[k])).length,
      samples: latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
      replicaCpu: cpuTo.map((to, r) => (to - cpuFrom!.cpu[r]!) / seconds),
      imagesPerSecond: wallImagesPerSecond(timestamps, RUN_SHAPE.batchSize),
    };
  } finally {
    if (worker) await stopChild(worker);
    await Promise.allSettled(replicas.map((r) => r.stop("SIGTERM", 10_000)));
  }
}

/** The built `dcgan worker` as its own process; resolves once its banner says it takes runs. */
async function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BUILT_CLI, "worker"], { env: { ...process.env, ...env, LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = once(child, "exit");
  void exited.then(() => process.off("exit", killOnExit));
  createInterface({ input: child.stderr! }).on("line", (line) => process.stderr.write(`worker: ${line}\n`));
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output.push(line);
      if (/^DCGAN worker \S+:/.test(line)) resolve();
    });
    void exited.then(([code, signal]) => reject(new Error(`the worker exited (${signal ?? code}) before taking runs:\n${output.join("\n")}`)));
  });
  return child;
}

/** SIGTERM, then SIGKILL after 10 s, and waits for the exit. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
