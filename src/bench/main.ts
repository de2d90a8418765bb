/**
 * `npm run bench`: images/s of whole training iterations on every available backend,
 * beside PyTorch's CPU reference measured in the same run, and the latency of the dashboard's
 * queries under load; as tables and as JSON.
 */
import * as tf from "@tensorflow/tfjs-core";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { backendReport, useBackend } from "../engine/backends/index.js";
import { Gan } from "../engine/gan.js";
import { discriminatorLayers, generatorLayers, type Layer } from "../engine/models.js";
import { benchCliRun } from "./cli-run.js";
import { benchQueries } from "./queries.js";
import type { BenchRun } from "./bench-run.js";
import { percentile } from "./stats.js";
import { benchStreaming } from "./streaming.js";

interface BenchConfig {
  name: string;
  imageSize: number;
  channels: number;
  nz: number;
  ngf: number;
  ndf: number;
  batchSize: number;
}

/** ../shared/notes/tfjs-backends.md's configurations (b) and (a). */
const CONFIGS: BenchConfig[] = [
  { name: "(b) 32x32 grey, ngf=ndf=32, batch 64", imageSize: 32, channels: 1, nz: 100, ngf: 32, ndf: 32, batchSize: 64 },
  { name: "(a) tutorial 64x64 RGB, ngf=ndf=64, batch 128", imageSize: 64, channels: 3, nz: 100, ngf: 64, ndf: 64, batchSize: 128 },
];

/** Timing stops after this many iterations or seconds, whichever comes first. */
const MAX_ITERATIONS = 10;
const MAX_SECONDS = 30;
/** A backend whose iteration would take longer than this is reported as too slow. */
const MAX_ITERATION_SECONDS = 150;

/** Issue 5's goals: the dashboard's queries under load; a run's throughput through the service. */
const QUERY_P99_GOAL_MS = 20;
const SERVICE_RATIO_GOAL = 0.97;

/** Whole runs of config (b): real data when Debian's dataset is installed. */
const PIPELINE_ROUNDS = 3;
const PIPELINE_RUN: BenchRun = {
  iterations: 30,
  writeEvery: 10,
  dataset: existsSync("/usr/share/datasets/fashion-mnist") ? "FASHION_MNIST" : "SYNTHETIC",
};

const REFERENCE = process.env.DCGAN_REFERENCE ?? resolve("../shared/reference/dcgan_reference.py");
const PYTHON = "/usr/bin/python3";

interface Measurement {
  imagesPerSecond: number | null;
  note: string;
}

interface Row extends Measurement {
  config: string;
  implementation: string;
}

/** Convolution FLOPs (2 per multiply-add) of one forward pass of one image. */
function forwardFlops(layers: Layer[], inputSize: number): number {
  let size = inputSize;
  let flops = 0;
  for (const layer of layers) {
    if (layer.kind !== "conv" && layer.kind !== "convTranspose") continue;
    const outSize = layer.kind === "conv" ? (layer.stride === 2 ? size / 2 : size - 3) : layer.stride === 2 ? size * 2 : size + 3;
    // A convolution's cost counts its output pixels, a transposed one's its input pixels.
    const pixels = layer.kind === "conv" ? outSize * outSize : size * size;
    flops += 2 * 16 * layer.inChannels * layer.outChannels * pixels;
    size = outSize;
  }
  return flops;
}

/** Per image and iteration: D runs forward 3 times and backward 3 times (6 passes), G 1 + 2. */
function iterationFlops(config: BenchConfig): number {
  return 9 * forwardFlops(discriminatorLayers(config), config.imageSize) + 3 * forwardFlops(generatorLayers(config), 1);
}

async function benchTfjs(config: BenchConfig): Promise<Measurement> {
  const gan = Gan.create(config, { lr: 0.0002, beta1: 0.5 }, 999);
  const real = tf.randomUniform([config.batchSize, config.imageSize, config.imageSize, config.channels], -1, 1) as tf.Tensor4D;
  const iterate = async () => {
    const noise = tf.randomNormal([config.batchSize, config.nz]) as tf.Tensor2D;
    const start = performance.now();
    await gan.step(real, noise);
    noise.dispose();
    return (performance.now() - start) / 1000;
  };
  try {
    const cold = await iterate(); // kernels compile, memory is allocated
    // A backend this slow (pure-JS cpu) would take minutes per timed iteration; its cold one says enough.
    if (cold > MAX_SECONDS) return { imagesPerSecond: config.batchSize / cold, note: "one cold iteration: too slow to time more" };
    const times: number[] = [];
    let total = 0;
    while (times.length < MAX_ITERATIONS && total < MAX_SECONDS) {
      const t = await iterate();
      times.push(t);
      total += t;
    }
    const imagesPerSecond = config.batchSize / percentile(times, 50);
    const gflops = (imagesPerSecond * iterationFlops(config)) / 1e9;
    return { imagesPerSecond, note: `median of ${times.length} iterations, ${gflops.toFixed(1)} GFLOP/s` };
  } finally {
    real.dispose();
    gan.dispose();
  }
}

async function benchPytorch(config: BenchConfig, threads: number, iterations: number): Promise<Measurement> {
  if (!existsSync(REFERENCE)) return { imagesPerSecond: null, note: `no reference script at ${REFERENCE}` };
  const args = [
    REFERENCE, "bench", "--image-size", String(config.imageSize), "--nc", String(config.channels),
    "--nz", String(config.nz), "--ngf", String(config.ngf), "--ndf", String(config.ndf),
    "--batch", String(config.batchSize), "--threads", String(threads), "--iters", String(iterations),
  ];
  try {
    const { stdout } = await promisify(execFile)(PYTHON, args, { timeout: 15 * 60_000 });
    const result = JSON.parse(stdout.trim().split("\n").pop()!) as { images_per_s: number; torch: string };
    return { imagesPerSecond: result.images_per_s, note: `torch ${result.torch}, median of ${iterations} iterations` };
  } catch (err) {
    return { imagesPerSecond: null, note: `unavailable: ${(err as Error).message.split("\n")[0]}` };
  }
}

async function main(): Promise<void> {
  const report = await backendReport();
  const available = report.filter((r) => r.available);
  const rows: Row[] = [];
  const add = (row: Row) => {
    rows.push(row);
    const ips = row.imagesPerSecond === null ? "-" : row.imagesPerSecond.toFixed(1);
    process.stderr.write(`${row.config} | ${row.implementation}: ${ips} img/s (${row.note})\n`);
  };
  // Throughput in FLOP/s measured on the first configuration predicts the others'
  // iteration time, so that the pure-JS backend is not left running for hours.
  const flopRate = new Map<string, number>();
  for (const config of CONFIGS) {
    for (const threads of [1, 2]) {
      const implementation = `pytorch cpu, ${threads} thread${threads > 1 ? "s" : ""}`;
      // As many iterations as fit in MAX_SECONDS at the rate measured on the first configuration.
      const rate = flopRate.get(implementation);
      const iterations = rate ? Math.max(2, Math.min(MAX_ITERATIONS, Math.floor((MAX_SECONDS * rate) / (config.batchSize * iterationFlops(config))))) : MAX_ITERATIONS;
      const measured = await benchPytorch(config, threads, iterations);
      if (measured.imagesPerSecond) flopRate.set(implementation, measured.imagesPerSecond * iterationFlops(config));
      add({ config: config.name, implementation, ...measured });
    }
    for (const backend of available) {
      const implementation = `tfjs ${backend.name}${/software adapter/.test(backend.detail) ? " (software adapter)" : ""}`;
      const rate = flopRate.get(backend.name);
      const predicted = rate ? (config.batchSize * iterationFlops(config)) / rate : 0;
      if (predicted > MAX_ITERATION_SECONDS) {
        add({ config: config.name, implementation, imagesPerSecond: null, note: `skipped: about ${predicted.toFixed(0)} s per iteration` });
        continue;
      }
      await useBackend(backend.name);
      const measured = await benchTfjs(config);
      if (measured.imagesPerSecond) flopRate.set(backend.name, measured.imagesPerSecond * iterationFlops(config));
      add({ config: config.name, implementation, ...measured });
    }
  }

  const baseline = (config: string) => rows.find((r) => r.config === config && r.implementation === "pytorch cpu, 1 thread")?.imagesPerSecond;
  const table = [
    "| configuration | implementation | images/s | vs PyTorch 1 thread | note |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) => {
      const base = baseline(r.config);
      const ratio = r.imagesPerSecond !== null && base ? `${(r.imagesPerSecond / base).toFixed(2)}x` : "-";
      const ips = r.imagesPerSecond === null ? "-" : r.imagesPerSecond.toFixed(1);
      return `| ${r.config} | ${r.implementation} | ${ips} | ${ratio} | ${r.note} |`;
    }),
  ].join("\n");
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
    `| config (b) on wasm, ${PIPELINE_RUN.iterations} iterations of ${PIPELINE_RUN.dataset.toLowerCase().replace("_", "-")}, median of ${PIPELINE_ROUNDS} alternating runs | images/s (wall clock) | range | baseline | ratio |`,
    "| --- | --- | --- | --- | --- |",
    ...pipeline.map((p) => `| ${p.run} | ${p.imagesPerSecond.toFixed(1)} | ${p.spread} | ${p.baseline} | ${p.ratio} |`),
  ].join("\n");
  const streaming = await benchStreaming(1000, { iterations: 40, writeEvery: 100_000, dataset: "SYNTHETIC" });
  process.stderr.write(`streaming: ${JSON.stringify(streaming)}\n`);
  const streamingTable = [
    "| subscribers of one run (config (b), wasm) | complete | latency p50 ms | p99 ms (goal 50) | server CPU, share of a core | per subscriber | server RSS per subscriber |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    `| ${streaming.subscribers} | ${streaming.complete} | ${streaming.p50Ms} | ${streaming.p99Ms} | ${(100 * streaming.serverCpu).toFixed(1)} % | ${(100 * streaming.serverCpuPerSubscriber).toFixed(3)} % | ${streaming.kbPerSubscriber.toFixed(0)} kB |`,
  ].join("\n");
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
  process.stdout.write(`\nMachine: ${machine}\n\n${table}\n\n${queryTable}\n\n${pipelineTable}\n\n${streamingTable}\n`);
  const out = process.env.DCGAN_BENCH_OUT ?? "bench-results.json";
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), machine, backends: report, rows, queries, dashboard, pipeline, streaming }, null, 2));
  process.stdout.write(`\nwrote ${out}\n`);
}

await main();
