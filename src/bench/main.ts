/**
 * `npm run bench`: images/s of whole training iterations on every available backend,
 * beside PyTorch's CPU reference measured in the same run (src/bench/throughput.ts), and
 * the latency of the dashboard's queries under load; as tables and as JSON.
 * DCGAN_BENCH_ONLY=throughput stops after the training throughput; =storage runs only
 * the store's section (src/bench/storage.ts).
 * DCGAN_BENCH_ONLY=distributed runs only issue 15's worker-to-replicas streaming (src/bench/distributed.ts).
 * DCGAN_BENCH_ONLY=sweeps runs only a sweep's scheduling and table (src/bench/sweeps.ts).
 * DCGAN_BENCH_ONLY=live-tail runs only the live tail's viewers (benchLiveTail in src/bench/streaming.ts).
 * DCGAN_BENCH_ONLY=scaling runs only every core against one, beside the machine's own (src/bench/scaling.ts).
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { backendReport } from "../engine/backends/index.js";
import { threadsLabel } from "../engine/backends/threads.js";
import { serviceThreads } from "../server/runs/local-run-queue.js";
import { benchCliRun } from "./cli-run.js";
import { benchQueries } from "./queries.js";
import type { BenchRun } from "./bench-run.js";
import { benchDistributed } from "./distributed.js";
import { percentile } from "./stats.js";
import { benchOut, machineLabel, writeSection } from "./section.js";
import { benchStorage } from "./storage.js";
import { benchScaling } from "./scaling.js";
import { benchSweeps } from "./sweeps.js";
import { benchLiveTail, benchStreaming } from "./streaming.js";
import { benchThroughput } from "./throughput.js";

/** Issue 5's goals: the dashboard's queries under load; a run's throughput through the service. */
const QUERY_P99_GOAL_MS = 20;
const SERVICE_RATIO_GOAL = 0.97;

/** Whole runs of config (b): real data when Debian's dataset is installed. */
const PIPELINE_ROUNDS = 3;
const PIPELINE_RUN: BenchRun = {
  iterations: 30,
  writeEvery: 10,
  dataset: existsSync("/usr/share/datasets/fashion-mnist") ? "FASHION_MNIST" : "SYNTHETIC",
  // What the service gives a run here by default, for the CLI too: the same work both ways.
  threads: serviceThreads(1),
};

/** Issue 15's run: long enough for tens of thousands of latency samples (iterations x 500 subscribers). */
const DISTRIBUTED_RUN: BenchRun = { iterations: 100, writeEvery: 100_000, dataset: "SYNTHETIC", threads: PIPELINE_RUN.threads };

async function main(): Promise<void> {
  if (process.env.DCGAN_BENCH_ONLY === "storage") return writeSection("storage", await benchStorage());
  if (process.env.DCGAN_BENCH_ONLY === "distributed") return writeSection("distributed", await benchDistributed(DISTRIBUTED_RUN));
  if (process.env.DCGAN_BENCH_ONLY === "sweeps") return writeSection("sweeps", await benchSweeps());
  if (process.env.DCGAN_BENCH_ONLY === "live-tail") return writeSection("liveTail", await benchLiveTail(1000));
  if (process.env.DCGAN_BENCH_ONLY === "scaling") return writeSection("scaling", await benchScaling());
  const report = await backendReport();
  const throughput = await benchThroughput(report);
  // Every core against one, beside what the machine itself gives (the table's rows are minutes apart).
  const scaling = await benchScaling();
  const { rows } = throughput;
  const table = `${throughput.table}\n\n${scaling.table}`;
  const machine = machineLabel();
  const out = benchOut();
  const { header, ...throughputJson } = throughput;
  if (process.env.DCGAN_BENCH_ONLY === "throughput") {
    process.stdout.write(`\nMachine: ${machine}\n${header}\n\n${table}\n`);
    await writeFile(out, JSON.stringify({ date: new Date().toISOString(), machine, backends: report, rows, throughput: throughputJson, scaling: scaling.rows }, null, 2));
    process.stdout.write(`\nwrote ${out}\n`);
    return;
  }
  const { queries, dashboard } = await benchQueries();
  for (const q of queries) process.stderr.write(`query ${q.query}: p50 ${q.p50Ms.toFixed(1)} ms, p99 ${q.p99Ms.toFixed(1)} ms\n`);
  const queryTable = [
    `| query, with a run training and a finished run of 200,000 iterations | p50 ms | p99 ms | goal p99 ms |`,
    "| --- | --- | --- | --- |",
    ...queries.map((q) => `| \`${q.query}\` | ${q.p50Ms.toFixed(1)} | ${q.p99Ms.toFixed(1)} | ${QUERY_P99_GOAL_MS} |`),
    dashboard
      ? `| dashboard (Chromium): open that run until its loss chart is drawn (${dashboard.points} points) | ${dashboard.medianMs.toFixed(0)} | ${Math.max(...dashboard.times).toFixed(0)} (max of ${dashboard.times.length}) | 1000 |`
      : "| dashboard: not measured (no Chromium) | - | - | 1000 |",
  ].join("\n");
  // Whole runs: data loading, samples and checkpoints, then the service's overhead. The
  // three alternate, PIPELINE_ROUNDS times, so that the VM's drift hits each alike.
  const samples = { cliQuiet: [] as number[], cliWriting: [] as number[], service: [] as number[] };
  for (let round = 0; round < PIPELINE_ROUNDS; round++) {
    samples.cliQuiet.push(await benchCliRun({ ...PIPELINE_RUN, writeEvery: 1_000_000 }));
    samples.cliWriting.push(await benchCliRun(PIPELINE_RUN));
    samples.service.push((await benchStreaming(100, PIPELINE_RUN)).imagesPerSecond);
  }
  const [cliQuiet, cliWriting, service] = [samples.cliQuiet, samples.cliWriting, samples.service].map((values) => percentile(values, 50)) as [number, number, number];
  const spread = (values: number[]) => `${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)}`;
  const pipeline = [
    { run: "CLI, samples and checkpoints at the end only", imagesPerSecond: cliQuiet, spread: spread(samples.cliQuiet), baseline: "-", ratio: "-" },
    { run: `CLI, a sample and a checkpoint every ${PIPELINE_RUN.writeEvery} iterations`, imagesPerSecond: cliWriting, spread: spread(samples.cliWriting), baseline: "the CLI writing at the end only", ratio: (cliWriting / cliQuiet).toFixed(2) },
    { run: "service, 100 live subscribers, same writes", imagesPerSecond: service, spread: spread(samples.service), baseline: "the CLI with the same writes", ratio: `${(service / cliWriting).toFixed(2)} (goal ${SERVICE_RATIO_GOAL})` },
  ];
  for (const p of pipeline) process.stderr.write(`${p.run}: ${p.imagesPerSecond.toFixed(1)} img/s (${p.spread})\n`);
  const pipelineTable = [
    `| config (b) on wasm, ${threadsLabel(PIPELINE_RUN.threads)} (the service's default here), ${PIPELINE_RUN.iterations} iterations of ${PIPELINE_RUN.dataset.toLowerCase().replace("_", "-")}, median of ${PIPELINE_ROUNDS} alternating runs | images/s (wall clock) | range | baseline | ratio |`,
    "| --- | --- | --- | --- | --- |",
    ...pipeline.map((p) => `| ${p.run} | ${p.imagesPerSecond.toFixed(1)} | ${p.spread} | ${p.baseline} | ${p.ratio} |`),
  ].join("\n");
  const streaming = await benchStreaming(1000, { iterations: 40, writeEvery: 100_000, dataset: "SYNTHETIC", threads: PIPELINE_RUN.threads });
  process.stderr.write(`streaming: ${JSON.stringify(streaming)}\n`);
  const streamingTable = [
    "| subscribers of one run (config (b), wasm) | complete | latency p50 ms | p99 ms (goal 50) | server CPU, share of a core | per subscriber | server RSS per subscriber |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    `| ${streaming.subscribers} | ${streaming.complete} | ${streaming.p50Ms} | ${streaming.p99Ms} | ${(100 * streaming.serverCpu).toFixed(1)} % | ${(100 * streaming.serverCpuPerSubscriber).toFixed(3)} % | ${streaming.kbPerSubscriber.toFixed(0)} kB |`,
  ].join("\n");
  // Viewers that each send their own `after` (issue 13), beside identical ones.
  const liveTail = await benchLiveTail(1000);
  // Issue 15: from a worker through Redis to subscribers on one replica, then on two.
  const distributed = await benchDistributed(DISTRIBUTED_RUN);
  // Issue 16: what a sweep's scheduling and table cost.
  const sweeps = await benchSweeps();
  process.stdout.write(`\nMachine: ${machine}\n${header}\n\n${table}\n\n${queryTable}\n\n${pipelineTable}\n\n${streamingTable}\n\n${liveTail.table}\n\n${distributed.table}\n\n${sweeps.table}\n`);
  await writeFile(
    out,
    JSON.stringify({ date: new Date().toISOString(), machine, backends: report, rows, throughput: throughputJson, scaling: scaling.rows, queries, dashboard, pipeline, streaming, liveTail: liveTail.rows, distributed: distributed.rows, sweeps: sweeps.rows }, null, 2),
  );
  process.stdout.write(`\nwrote ${out}\n`);
}

await main();
