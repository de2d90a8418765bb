/**
 * `npm run bench`: images/s of whole training iterations on every available backend,
 * beside PyTorch's CPU reference measured in the same run, as a table and as JSON.
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
/** A backend whose warm-up iteration takes longer than this is reported as too slow. */
const MAX_WARMUP_SECONDS = 60;

const REFERENCE = process.env.DCGAN_REFERENCE ?? resolve("../shared/reference/dcgan_reference.py");
const PYTHON = "/usr/bin/python3";

interface Row {
  config: string;
  implementation: string;
  imagesPerSecond: number | null;
  note: string;
}

async function benchTfjs(config: BenchConfig): Promise<{ imagesPerSecond: number | null; note: string }> {
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
    const warmup = await iterate(); // kernels compile, memory is allocated
    if (warmup > MAX_WARMUP_SECONDS) return { imagesPerSecond: null, note: `too slow: ${warmup.toFixed(0)} s per iteration` };
    const times: number[] = [];
    let total = 0;
    while (times.length < MAX_ITERATIONS && total < MAX_SECONDS) {
      const t = await iterate();
      times.push(t);
      total += t;
    }
    return { imagesPerSecond: config.batchSize / median(times), note: `median of ${times.length} iterations` };
  } finally {
    real.dispose();
    gan.dispose();
  }
}

async function benchPytorch(config: BenchConfig, threads: number): Promise<{ imagesPerSecond: number | null; note: string }> {
  if (!existsSync(REFERENCE)) return { imagesPerSecond: null, note: `no reference script at ${REFERENCE}` };
  const args = [
    REFERENCE, "bench", "--image-size", String(config.imageSize), "--nc", String(config.channels),
    "--nz", String(config.nz), "--ngf", String(config.ngf), "--ndf", String(config.ndf),
    "--batch", String(config.batchSize), "--threads", String(threads), "--iters", String(MAX_ITERATIONS),
  ];
  try {
    const { stdout } = await promisify(execFile)(PYTHON, args, { timeout: 15 * 60_000 });
    const result = JSON.parse(stdout.trim().split("\n").pop()!) as { images_per_s: number; torch: string };
    return { imagesPerSecond: result.images_per_s, note: `torch ${result.torch}, median of ${MAX_ITERATIONS}` };
  } catch (err) {
    return { imagesPerSecond: null, note: `unavailable: ${(err as Error).message.split("\n")[0]}` };
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
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
  for (const config of CONFIGS) {
    for (const threads of [1, 2]) {
      add({ config: config.name, implementation: `pytorch cpu, ${threads} thread${threads > 1 ? "s" : ""}`, ...(await benchPytorch(config, threads)) });
    }
    for (const backend of available) {
      await useBackend(backend.name);
      add({ config: config.name, implementation: `tfjs ${backend.name}`, ...(await benchTfjs(config)) });
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
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
  process.stdout.write(`\nMachine: ${machine}\n\n${table}\n`);
  const out = process.env.DCGAN_BENCH_OUT ?? "bench-results.json";
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), machine, backends: report, rows }, null, 2));
  process.stdout.write(`\nwrote ${out}\n`);
}

await main();
