/**
 * What a sweep costs the service (DCGAN_BENCH_ONLY=sweeps): scheduling, startSweep of a
 * 100-run grid beside 100 startRun requests, each validated, stored and queued; and its
 * table, aggregates over each run's stored metrics: read first, then again as a polling
 * dashboard reads it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { IterationMetrics } from "../engine/metrics.js";
import { startService } from "../server/service.js";
import { readSettings } from "../server/settings.js";
import { percentile } from "./stats.js";

/** A 10 x 10 grid, and what each run of the table holds. */
const GRID = { lr: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => k * 1e-4), ngf: [8, 16, 24, 32, 40, 48, 56, 64, 72, 80] };
const RUNS = GRID.lr.length * GRID.ngf.length;
const STORED_PER_RUN = 10_000;
const TABLE_REQUESTS = 10;
/** Long runs on synthetic data: they stay queued (one trains) while the requests are timed. */
const BASE = "{ imageSize: 32, channels: 1, batchSize: 64, iterations: 1000000 }";

export interface SweepBenchRow {
  what: string;
  totalMs: number;
  perRunMs: number;
}

/**
 * A POST on a connection of its own. Storing the table's metrics holds this process's
 * event loop for seconds, the server's included: its keep-alive timer then closes an
 * idle connection just as the client, whose timer was held too, reuses it.
 */
function postOnNewConnection(url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent: false, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve(text));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function metric(iteration: number): IterationMetrics {
  const wave = Math.sin(iteration / 50);
  return { iteration, epoch: 0, batch: iteration, lossD: 1 + 0.5 * wave, lossG: 2 - wave, dX: 0.5, dGz1: 0.4, dGz2: 0.3, errDReal: 0.6, errDFake: 0.4, imagesPerSecond: 100, timestamp: iteration };
}

export async function benchSweeps(): Promise<{ rows: SweepBenchRow[]; table: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), "dcgan-bench-"));
  const service = await startService(readSettings(["--port", "0", "--data-dir", dataDir, "--max-queued-runs", String(2 * RUNS)], {}), pino({ level: "silent" }));
  const post = async <T,>(query: string, variables?: Record<string, unknown>): Promise<T> => {
    const body = JSON.parse(await postOnNewConnection(service.url, JSON.stringify({ query, variables }))) as { data?: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  };
  const timed = async (work: () => Promise<unknown>) => {
    const start = performance.now();
    await work();
    return performance.now() - start;
  };
  try {
    let sweepId = "";
    const sweepMs = await timed(async () => {
      const { startSweep } = await post<{ startSweep: { id: string } }>(`mutation ($grid: SweepGridInput!) { startSweep(input: { base: ${BASE}, grid: $grid }) { id } }`, { grid: GRID });
      sweepId = startSweep.id;
    });
    await post(`mutation { stopSweep(id: "${sweepId}") { id } }`);
    const runIds: string[] = [];
    const runsMs = await timed(async () => {
      for (const lr of GRID.lr) {
        for (const ngf of GRID.ngf) {
          const { startRun } = await post<{ startRun: { id: string } }>(`mutation { startRun(input: { imageSize: 32, channels: 1, batchSize: 64, iterations: 1000000, lr: ${lr}, ngf: ${ngf} }) { id } }`);
          runIds.push(startRun.id);
        }
      }
    });
    for (const id of runIds) await post(`mutation { stopRun(id: "${id}") { id } }`);

    const { sweep } = await post<{ sweep: { runs: { id: string }[] } }>(`{ sweep(id: "${sweepId}") { runs { id } } }`);
    for (const run of sweep.runs) {
      for (let first = 1; first <= STORED_PER_RUN; first += 5000) {
        await service.store.addMetrics(run.id, Array.from({ length: 5000 }, (_, i) => metric(first + i)));
      }
    }
    const tableQuery = `{ sweep(id: "${sweepId}") { table { run { id name status } params { field value } final { lossD lossG dX dGz1 dGz2 } bestLossD bestLossG diversity } } }`;
    const firstTableMs = await timed(() => post(tableQuery));
    const tableTimes: number[] = [];
    for (let i = 0; i < TABLE_REQUESTS; i++) tableTimes.push(await timed(() => post(tableQuery)));
    const tableMs = percentile(tableTimes, 50);

    const rows: SweepBenchRow[] = [
      { what: `startSweep of a ${GRID.lr.length} x ${GRID.ngf.length} grid: every run validated, stored and queued`, totalMs: sweepMs, perRunMs: sweepMs / RUNS },
      { what: `the same ${RUNS} runs as startRun requests, one after another`, totalMs: runsMs, perRunMs: runsMs / RUNS },
      { what: `its table (default window), ${STORED_PER_RUN.toLocaleString("en")} stored iterations per run, read first`, totalMs: firstTableMs, perRunMs: firstTableMs / RUNS },
      { what: `the same table again, as a polling dashboard reads it (whole windows kept), median of ${TABLE_REQUESTS}`, totalMs: tableMs, perRunMs: tableMs / RUNS },
    ];
    const table = [
      `| a sweep of ${RUNS} runs, over HTTP, one run training | total ms | per run ms |`,
      "| --- | --- | --- |",
      ...rows.map((r) => `| ${r.what} | ${r.totalMs.toFixed(0)} | ${r.perRunMs.toFixed(2)} |`),
    ].join("\n");
    return { rows, table };
  } finally {
    await service.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
