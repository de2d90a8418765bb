/**
 * The store on SQLite and on PostgreSQL (DCGAN_BENCH_ONLY=storage): metric ingestion,
 * several runs writing their batches at once as training does, and the replay of a long
 * run's history page by page, as a live tail reads it before going live. Each database
 * is fresh and migrated; PostgreSQL is a throwaway server of the bench's own on this
 * machine (src/dev/postgres-server.ts), reached over TCP.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { parseTrainConfig } from "../engine/config.js";
import type { IterationMetrics } from "../engine/metrics.js";
import { startPostgresServer } from "../dev/postgres-server.js";
import { MAX_BATCH, MetricsBuffer } from "../server/runs/metrics-buffer.js";
import { migrateDatabase } from "../server/store/migrate.js";
import { Store } from "../server/store/store.js";
import { percentile } from "./stats.js";

/** Runs writing at once, and the iterations each writes. */
const CONCURRENT_RUNS = 8;
const ITERATIONS_PER_RUN = 25_000;
/** The stored history replayed, and the page a live tail reads it in (live-tail.ts's default). */
const REPLAYED_ITERATIONS = 200_000;
const REPLAY_PAGE = 1000;
/** How the history is written before it is replayed (not timed). */
const HISTORY_BATCH = 5000;

export interface StorageRow {
  database: "SQLite" | "PostgreSQL";
  /** Iterations stored per second, all runs together, and the time one batch took to commit. */
  ingestIterationsPerSecond: number;
  batchP50Ms: number;
  batchP99Ms: number;
  /** Iterations replayed per second, and the time one page took. */
  replayIterationsPerSecond: number;
  pageP50Ms: number;
  pageP99Ms: number;
  /**
   * PostgreSQL's replay again once the table's statistics are fresh (ANALYZE, which
   * autovacuum runs within a minute or so of such writes); null for SQLite, which plans
   * these reads on the primary key without statistics.
   */
  analyzedReplayIterationsPerSecond: number | null;
}

const CONFIG = parseTrainConfig({ iterations: ITERATIONS_PER_RUN });

function metric(iteration: number): IterationMetrics {
  return { iteration, epoch: 0, batch: iteration, lossD: 1.25, lossG: 2.5, dX: 0.5, dGz1: 0.4, dGz2: 0.3, errDReal: 0.6, errDFake: 0.4, imagesPerSecond: 100, timestamp: 1_764_000_000_000 + iteration };
}

/**
 * CONCURRENT_RUNS runs each write ITERATIONS_PER_RUN iterations through a MetricsBuffer
 * (addMetrics, then the run's progress, per batch), as fast as the database takes them:
 * each run waits for its batch to commit before adding the next, so the batches stay at
 * MAX_BATCH rows and the rate is what the database sustains.
 */
async function ingest(store: Store): Promise<{ iterationsPerSecond: number; batchMs: number[] }> {
  const batchMs: number[] = [];
  // A failed write is retried by the buffer and reported here: the bench then fails.
  let failure: unknown;
  const runs = await Promise.all(Array.from({ length: CONCURRENT_RUNS }, (_, i) => store.createRun({ name: `ingest ${i}`, config: CONFIG })));
  const start = performance.now();
  await Promise.all(
    runs.map(async (run) => {
      const buffer = new MetricsBuffer(store, run.id, { onStored: async () => undefined, onError: (err) => (failure ??= err) });
      for (let first = 1; first <= ITERATIONS_PER_RUN; first += MAX_BATCH) {
        for (let iteration = first; iteration < first + MAX_BATCH; iteration++) buffer.add(metric(iteration));
        const t = performance.now();
        await buffer.flush();
        batchMs.push(performance.now() - t);
        if (failure !== undefined) throw failure;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { iterationsPerSecond: (CONCURRENT_RUNS * ITERATIONS_PER_RUN) / seconds, batchMs };
}

/** Stores REPLAYED_ITERATIONS for a new run; its id. */
async function storeHistory(store: Store): Promise<string> {
  const run = await store.createRun({ name: "history", config: CONFIG });
  for (let first = 1; first <= REPLAYED_ITERATIONS; first += HISTORY_BATCH) {
    await store.addMetrics(run.id, Array.from({ length: HISTORY_BATCH }, (_, i) => metric(first + i)));
  }
  return run.id;
}

/** Reads a run's history back with metricsAfter, REPLAY_PAGE at a time, timed. */
async function replay(store: Store, runId: string): Promise<{ iterationsPerSecond: number; pageMs: number[] }> {
  const pageMs: number[] = [];
  let after = 0;
  const start = performance.now();
  for (;;) {
    const t = performance.now();
    const page = await store.metricsAfter(runId, after, REPLAY_PAGE);
    pageMs.push(performance.now() - t);
    if (page.length === 0) break;
    after = page.at(-1)!.iteration;
  }
  if (after !== REPLAYED_ITERATIONS) throw new Error(`replayed up to ${after}, not ${REPLAYED_ITERATIONS}`);
  const seconds = (performance.now() - start) / 1000;
  return { iterationsPerSecond: REPLAYED_ITERATIONS / seconds, pageMs };
}

/** `analyze` refreshes PostgreSQL's statistics; absent for SQLite. */
async function benchDatabase(database: StorageRow["database"], url: string, analyze?: () => Promise<void>): Promise<StorageRow> {
  await migrateDatabase(url);
  const store = await Store.open(url);
  try {
    const ingested = await ingest(store);
    const history = await storeHistory(store);
    const replayed = await replay(store, history);
    await analyze?.();
    const analyzed = analyze && (await replay(store, history));
    const row: StorageRow = {
      database,
      ingestIterationsPerSecond: ingested.iterationsPerSecond,
      batchP50Ms: percentile(ingested.batchMs, 50),
      batchP99Ms: percentile(ingested.batchMs, 99),
      replayIterationsPerSecond: replayed.iterationsPerSecond,
      pageP50Ms: percentile(replayed.pageMs, 50),
      pageP99Ms: percentile(replayed.pageMs, 99),
      analyzedReplayIterationsPerSecond: analyzed?.iterationsPerSecond ?? null,
    };
    process.stderr.write(`storage: ${JSON.stringify(row)}\n`);
    return row;
  } finally {
    await store.close();
  }
}

export async function benchStorage(): Promise<{ rows: StorageRow[]; table: string }> {
  const rows: StorageRow[] = [];
  const dir = await mkdtemp(join(tmpdir(), "dcgan-bench-storage-"));
  try {
    rows.push(await benchDatabase("SQLite", `file:${join(dir, "bench.db")}`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const postgres = await startPostgresServer();
  try {
    const url = await postgres.createDatabase("bench");
    rows.push(await benchDatabase("PostgreSQL", url, () => analyzeDatabase(url)));
  } finally {
    await postgres.stop();
  }
  const table = [
    `| store | ingestion: ${CONCURRENT_RUNS} runs writing ${MAX_BATCH}-iteration batches at once, iterations/s | batch commit p50 / p99 ms | replay of ${REPLAYED_ITERATIONS.toLocaleString("en")} iterations just written, ${REPLAY_PAGE} per page, iterations/s | page p50 / p99 ms | replay after ANALYZE, iterations/s |`,
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.database} | ${r.ingestIterationsPerSecond.toFixed(0)} | ${r.batchP50Ms.toFixed(1)} / ${r.batchP99Ms.toFixed(1)} | ${r.replayIterationsPerSecond.toFixed(0)} | ${r.pageP50Ms.toFixed(1)} / ${r.pageP99Ms.toFixed(1)} | ${r.analyzedReplayIterationsPerSecond?.toFixed(0) ?? "-"} |`,
    ),
  ].join("\n");
  return { rows, table };
}

async function analyzeDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("ANALYZE");
  } finally {
    await client.end();
  }
}

/** DCGAN_BENCH_ONLY=storage: this section alone, as a table and as JSON. */
