import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseTrainConfig } from "../engine/config.js";
import type { IterationMetrics } from "../engine/metrics.js";
import { startService } from "../server/service.js";
import { readSettings } from "../server/settings.js";
import { benchDashboardOpening, type DashboardOpening } from "./dashboard.js";
import { percentile } from "./stats.js";

/** Iterations the finished run holds, and how often each query is timed. */
const STORED_ITERATIONS = 200_000;
const REQUESTS = 200;

export interface QueryLatency {
  query: string;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Latency of the dashboard's queries over HTTP while a run trains in the same service,
 * against a finished run holding 200,000 stored iterations; and the time the dashboard
 * takes to open that run.
 */
export async function benchQueries(): Promise<{ queries: QueryLatency[]; dashboard: DashboardOpening | null }> {
  const dataDir = await mkdtemp(join(tmpdir(), "dcgan-bench-"));
  // The defaults a user gets, on a free port and a fresh data folder; nothing from this environment.
  const service = await startService(readSettings(["--port", "0", "--data-dir", dataDir], {}), pino({ level: "silent" }));
  const post = async (query: string) => {
    const res = await fetch(service.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
    const body = (await res.json()) as { data?: Record<string, { id: string }>; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  };
  try {
    const history = await service.store.createRun({ name: "history", config: parseTrainConfig({ iterations: STORED_ITERATIONS }) });
    for (let first = 1; first <= STORED_ITERATIONS; first += 5000) {
      const rows = Array.from({ length: 5000 }, (_, i): IterationMetrics => {
        const iteration = first + i;
        return { iteration, epoch: 0, batch: iteration, lossD: 1, lossG: 2, dX: 0.5, dGz1: 0.4, dGz2: 0.3, errDReal: 0.6, errDFake: 0.4, imagesPerSecond: 100, timestamp: iteration };
      });
      await service.store.addMetrics(history.id, rows);
    }
    await service.store.updateRun(history.id, { status: "COMPLETED", iteration: STORED_ITERATIONS });
    const training = await post(
      `mutation { startRun(input: { imageSize: 32, channels: 1, ngf: 32, ndf: 32, batchSize: 64, iterations: 1000000, backend: WASM }) { id } }`,
    );
    // Timed once the run has produced its first iteration: training, not starting up.
    const firstIteration = service.events.progress.subscribe(training.startRun!.id);
    await firstIteration.next();
    await firstIteration.return();
    const queries = [`{ run(id: "${history.id}") { metrics(maxPoints: 500) { iteration lossD lossG dX dGz1 dGz2 } } }`, `{ runs(first: 50) { nodes { id name status iteration } } }`];
    const results: QueryLatency[] = [];
    for (const query of queries) {
      await post(query);
      const times: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        const start = performance.now();
        await post(query);
        times.push(performance.now() - start);
      }
      results.push({ query: query.replace(/"[^"]+"/, '"…"'), p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) });
    }
    const dashboard = await benchDashboardOpening(new URL(service.url).origin, history.id);
    await post(`mutation { stopRun(id: "${training.startRun!.id}") { id } }`);
    return { queries: results, dashboard };
  } finally {
    await service.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
