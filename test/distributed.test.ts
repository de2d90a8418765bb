// The distributed deployment (README: Scaling out), with real processes: API replicas
// (`npm start` with REDIS_URL, training off) and `dcgan worker`s on one PostgreSQL, one
// Redis and one shared data folder.
import { createClient } from "graphql-ws";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { tempDir, tinyRunLiteral } from "./helpers.js";
import { gqlData, type ServerProcess, spawnServer, spawnWorker, waitForStatus, type WorkerProcess } from "./process-helpers.js";
import { usePostgresServer } from "./services/postgres.js";
import { useRedisServer } from "./services/redis.js";

const redis = useRedisServer();
const postgres = usePostgresServer();

/** A lost worker's run moves on within about twice this. */
const STALL_TIMEOUT_MS = 2000;

const METRICS = "iteration lossD lossG dX dGz1 dGz2 errDReal errDFake";
type Metrics = Record<string, number> & { iteration: number };

interface Deployment {
  replicas: ServerProcess[];
  workers: WorkerProcess[];
}

let running: Deployment | undefined;

afterEach(async () => {
  if (!running) return;
  await Promise.all([...running.workers.map((w) => w.stop("SIGKILL")), ...running.replicas.map((r) => r.stop("SIGKILL"))]);
  running = undefined;
});

/** Stops (or kills) the worker that trains the run, as `Query.workers` says. */
async function stopTrainerOf(api: string, runId: string, signal: NodeJS.Signals): Promise<void> {
  const { workers } = await gqlData<{ workers: { id: string; runIds: string[] }[] }>(api, "{ workers { id runIds } }");
  const trainer = workers.find((w) => w.runIds.includes(runId))!;
  await running!.workers.find((w) => w.id === trainer.id)!.stop(signal);
}

/** Replicas with training off and workers of concurrency 1, on a fresh database and an empty Redis. */
async function deploy({ replicas, workers, env: extra = {} }: { replicas: number; workers: number; env?: Record<string, string> }): Promise<Deployment> {
  const flush = new Redis(redis.url);
  await flush.flushall();
  await flush.quit();
  const env = {
    DATABASE_URL: await postgres.freshDatabase(),
    REDIS_URL: redis.url,
    DATA_DIR: await tempDir(),
    STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS),
    ...extra,
  };
  running = {
    replicas: await Promise.all(Array.from({ length: replicas }, () => spawnServer({ ...env, TRAINING: "off" }))),
    workers: await Promise.all(Array.from({ length: workers }, () => spawnWorker(env))),
  };
  return running;
}

async function startRun(url: string, fields: Record<string, string | number>): Promise<string> {
  const { startRun } = await gqlData<{ startRun: { id: string } }>(url, `mutation { startRun(input: ${tinyRunLiteral(fields)}) { id } }`);
  return startRun.id;
}

async function storedMetrics(url: string, runId: string): Promise<{ status: string; error: string | null; metrics: Metrics[] }> {
  const { run } = await gqlData<{ run: { status: string; error: string | null; metrics: Metrics[] } }>(url, `{ run(id: "${runId}") { status error metrics { ${METRICS} } } }`);
  return run;
}

/**
 * A client reading runProgress until the run's stream completes: from `after: 0`, and
 * whenever its stream breaks (its replica gone, say), again from the last iteration it
 * got, through the URL `url()` gives (or resolves to) at that moment. `onEvent` sees
 * every event as it comes.
 */
async function followProgress(url: () => string | Promise<string>, runId: string, onEvent: (m: Metrics, all: Metrics[]) => void = () => {}): Promise<{ events: Metrics[]; resubscriptions: number }> {
  const events: Metrics[] = [];
  for (let resubscriptions = 0; ; resubscriptions++) {
    const client = createClient({ url: (await url()).replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const after = events.at(-1)?.iteration ?? 0;
      for await (const result of client.iterate<{ runProgress: Metrics }>({ query: `subscription { runProgress(runId: "${runId}", after: ${after}) { ${METRICS} } }` })) {
        if (result.errors) throw new Error(JSON.stringify(result.errors));
        events.push(result.data!.runProgress);
        onEvent(result.data!.runProgress, events);
      }
      return { events, resubscriptions };
    } catch {
      // The replica went away or the stream broke: subscribe again with `after`.
      if (resubscriptions > 20) throw new Error(`runProgress of ${runId} kept failing`);
    } finally {
      await client.dispose();
    }
  }
}

const iterations = (events: Metrics[]) => events.map((m) => m.iteration);
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("distributed: API replicas and workers on PostgreSQL and Redis", () => {
  it("a run started through replica A streams through replica B exactly once; stopRun through B stops it on its worker; the stored metrics are what was received", async () => {
    const { replicas } = await deploy({ replicas: 2, workers: 2 });
    const [a, b] = replicas as [ServerProcess, ServerProcess];
    const runId = await startRun(a.url, { iterations: 100_000, checkpointEvery: 10, sampleEvery: 1000 });
    let stopped: Promise<unknown> | undefined;
    const { events } = await followProgress(
      () => b.url,
      runId,
      (m) => void (m.iteration >= 30 && (stopped ??= gqlData(b.url, `mutation { stopRun(id: "${runId}") { status } }`))),
    );
    await stopped;
    const stored = await storedMetrics(a.url, runId);
    expect(stored.status).toBe("STOPPED");
    expect(iterations(events)).toEqual(oneToN(events.length));
    expect(events.length).toBeGreaterThanOrEqual(30);
    expect(stored.metrics).toEqual(events);
    const { workers } = await gqlData<{ workers: { id: string; runIds: string[] }[] }>(b.url, "{ workers { id runIds } }");
    expect(workers.map((w) => w.id).sort()).toEqual(running!.workers.map((w) => w.id).sort());
  });

  it("a worker killed mid-run: another takes the run over from its latest checkpoint; every iteration reaches the subscriber once, and the stored metrics equal an uninterrupted run's", async () => {
    const { replicas, workers } = await deploy({ replicas: 1, workers: 2 });
    const api = replicas[0]!.url;
    const config = { iterations: 150, checkpointEvery: 10, sampleEvery: 1000 };
    const runId = await startRun(api, config);
    let killed: Promise<unknown> | undefined;
    const { events } = await followProgress(
      () => api,
      runId,
      (m) =>
        void (m.iteration >= 40 &&
          (killed ??= stopTrainerOf(api, runId, "SIGKILL"))),
    );
    await killed;
    expect(iterations(events)).toEqual(oneToN(150));
    const survivor = workers.find((w) => w.process.exitCode === null && w.process.signalCode === null)!;
    expect(survivor.output()).toContain("taking over a run whose worker was lost");
    const interrupted = await storedMetrics(api, runId);
    expect(interrupted.status).toBe("COMPLETED");

    const referenceId = await startRun(api, config);
    await waitForStatus(api, referenceId, ["COMPLETED", "FAILED"]);
    const reference = await storedMetrics(api, referenceId);
    expect(interrupted.metrics).toEqual(reference.metrics);
    expect(events).toEqual(reference.metrics);
  });

  it("a replica killed while a client streams from it: the client resubscribes to the other with `after` and misses nothing, repeats nothing", async () => {
    const { replicas } = await deploy({ replicas: 2, workers: 1 });
    const [a, b] = replicas as [ServerProcess, ServerProcess];
    const runId = await startRun(a.url, { iterations: 120, checkpointEvery: 1000, sampleEvery: 1000 });
    let killed: Promise<unknown> | undefined;
    const { events, resubscriptions } = await followProgress(
      // Once B is being killed, A, when B is gone: resubscribing to B as it dies fails at once, again and again.
      () => (killed ? killed.then(() => a.url) : b.url),
      runId,
      (m) => void (m.iteration >= 20 && (killed ??= b.stop("SIGKILL"))),
    );
    expect(resubscriptions).toBeGreaterThanOrEqual(1);
    expect(iterations(events)).toEqual(oneToN(120));
    expect((await storedMetrics(a.url, runId)).metrics).toEqual(events);
  });

  it("Redis, then PostgreSQL, restarted mid-run: the run goes on, and no stored iteration is lost or duplicated", async () => {
    const { replicas } = await deploy({ replicas: 1, workers: 1 });
    const api = replicas[0]!.url;
    const runId = await startRun(api, { iterations: 300, checkpointEvery: 20, sampleEvery: 1000 });
    let restarts: Promise<number> | undefined;
    const { events } = await followProgress(
      () => api,
      runId,
      (m, all) =>
        void (m.iteration >= 30 &&
          (restarts ??= (async () => {
            await redis.restart();
            await postgres.restart();
            return all.length;
          })())),
    );
    // Both were back before the run ended: it trained across the restarts.
    expect(await restarts).toBeLessThan(300);
    expect(iterations(events)).toEqual(oneToN(300));
    const stored = await storedMetrics(api, runId);
    expect(stored.status).toBe("COMPLETED");
    expect(iterations(stored.metrics)).toEqual(oneToN(300));
  });

  it("a sweep's four runs on two workers of concurrency 1: never more than two train at once, and all complete", async () => {
    const { replicas } = await deploy({ replicas: 1, workers: 2 });
    const api = replicas[0]!.url;
    const { startSweep } = await gqlData<{ startSweep: { id: string; runs: { id: string }[] } }>(
      api,
      `mutation { startSweep(input: { base: ${tinyRunLiteral({ iterations: 40, checkpointEvery: 1000, sampleEvery: 1000 })}, grid: { lr: [0.0002, 0.001] }, seeds: [1, 2] }) { id runs { id } } }`,
    );
    for (const { id } of startSweep.runs) expect((await waitForStatus(api, id, ["COMPLETED", "FAILED"])).status).toBe("COMPLETED");
    expect(await gqlData(api, `{ sweep(id: "${startSweep.id}") { status } }`)).toEqual({ sweep: { status: "COMPLETED" } });
    const { runs } = await gqlData<{ runs: { nodes: { startedAt: string; finishedAt: string }[] } }>(api, "{ runs(first: 10) { nodes { startedAt finishedAt } } }");
    const spans = runs.nodes.map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt)] as const);
    const mostAtOnce = Math.max(...spans.map(([start]) => spans.filter(([s, f]) => s <= start && start < f).length));
    expect(mostAtOnce).toBeLessThanOrEqual(2);
    expect(mostAtOnce).toBe(2);
  });

  it("a worker stopped with SIGTERM hands its run back: it stops at an iteration boundary with a checkpoint, and another worker continues it to the end", async () => {
    const { replicas, workers } = await deploy({ replicas: 1, workers: 2 });
    const api = replicas[0]!.url;
    const runId = await startRun(api, { iterations: 150, checkpointEvery: 1000, sampleEvery: 1000 });
    let stopped: Promise<unknown> | undefined;
    const { events } = await followProgress(() => api, runId, (m) => void (m.iteration >= 40 && (stopped ??= stopTrainerOf(api, runId, "SIGTERM"))));
    await stopped;
    expect(workers.filter((w) => w.process.exitCode === 0)).toHaveLength(1);
    expect(iterations(events)).toEqual(oneToN(150));
    const { run } = await gqlData<{ run: { status: string; checkpoints: { iteration: number }[] } }>(api, `{ run(id: "${runId}") { status checkpoints { iteration } } }`);
    expect(run.status).toBe("COMPLETED");
    // The handover checkpoint (checkpointEvery is far beyond the run), then the last.
    expect(run.checkpoints.map((c) => c.iteration)).toEqual([expect.any(Number), 150]);
    expect(run.checkpoints[0]!.iteration).toBeGreaterThanOrEqual(40);
  });

  it("a run whose worker is lost more often than MAX_STALLS allows FAILS, saying why, and can be resumed", async () => {
    const { replicas } = await deploy({ replicas: 1, workers: 2, env: { MAX_STALLS: "0" } });
    const api = replicas[0]!.url;
    const runId = await startRun(api, { iterations: 100_000, checkpointEvery: 10, sampleEvery: 1000 });
    await followProgress(() => api, runId, (m) => {
      if (m.iteration === 20) void stopTrainerOf(api, runId, "SIGKILL");
    }).catch(() => undefined);
    const failed = await waitForStatus<{ status: string; error: string }>(api, runId, ["FAILED"]);
    expect(failed.error).toMatch(/worker was lost more than 0 times/);
    await gqlData(api, `mutation { resumeRun(id: "${runId}") { id } }`);
    expect((await waitForStatus(api, runId, ["RUNNING"])).status).toBe("RUNNING");
  });

  it("a worker frozen past its lock (as if cut off): another takes the run over, and the thawed one abandons it without recording anything more", async () => {
    const { replicas, workers } = await deploy({ replicas: 1, workers: 2 });
    const api = replicas[0]!.url;
    const config = { iterations: 150, checkpointEvery: 10, sampleEvery: 1000 };
    const runId = await startRun(api, config);
    let frozen: WorkerProcess | undefined;
    let thawed = false;
    const { events } = await followProgress(
      () => api,
      runId,
      (m) =>
        void (async () => {
          if (m.iteration >= 40 && !frozen) {
            const { workers: list } = await gqlData<{ workers: { id: string; runIds: string[] }[] }>(api, "{ workers { id runIds } }");
            frozen = workers.find((w) => w.id === list.find((l) => l.runIds.includes(runId))!.id)!;
            frozen.process.kill("SIGSTOP");
          } else if (m.iteration >= 120 && frozen && !thawed) {
            thawed = true;
            frozen.process.kill("SIGCONT");
          }
        })(),
    );
    expect(iterations(events)).toEqual(oneToN(150));
    const stored = await storedMetrics(api, runId);
    expect(stored.status).toBe("COMPLETED");
    const referenceId = await startRun(api, config);
    await waitForStatus(api, referenceId, ["COMPLETED", "FAILED"]);
    expect(stored.metrics).toEqual((await storedMetrics(api, referenceId)).metrics);
    expect(frozen!.output()).toContain("run abandoned");
  });
});
