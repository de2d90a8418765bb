/**
 * The bench's training throughput: whole iterations of each configuration on every
 * available tfjs backend and on PyTorch, each with one thread and with every core the
 * process may use, as images/s, as a ratio to PyTorch with the same number of threads,
 * and as GFLOP/s beside the fp32 peak of that many cores (src/bench/machine.ts).
 *
 * DCGAN_BENCH_CONFIGS (e.g. "b") and DCGAN_BENCH_BACKENDS (e.g. "wasm,cpu") narrow it
 * down for a quick check.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type BackendStatus, useBackend } from "../engine/backends/index.js";
import { ALL_CORES, setThreads, threadsLabel } from "../engine/backends/threads.js";
import { Gan } from "../engine/gan.js";
import { discriminatorLayers, generatorLayers, type Layer } from "../engine/models.js";
import { describeMachine, type Machine, machineLines, peakGflops } from "./machine.js";
import { describeTorch, probeTorchEnvironment, referenceMissing, runTorch, type TorchModel, type TorchProbe, type TorchRun } from "./pytorch.js";
import { percentile } from "./stats.js";

export interface BenchConfig extends TorchModel {
  name: string;
}

/**
 * (b) is small enough to measure every backend on; (a) is the tutorial's own setup.
 * FLOPs per image and iteration (convolutions only): (b) 9 x 8.7 + 3 x 9.1 MFLOP,
 * (a) 9 x 208 + 3 x 209 MFLOP.
 */
export const CONFIGS: BenchConfig[] = [
  { name: "(b) 32x32 grey, ngf=ndf=32, batch 64", imageSize: 32, channels: 1, nz: 100, ngf: 32, ndf: 32, batchSize: 64 },
  { name: "(a) tutorial 64x64 RGB, ngf=ndf=64, batch 128", imageSize: 64, channels: 3, nz: 100, ngf: 64, ndf: 64, batchSize: 128 },
];

/** Timing stops after this many iterations or seconds, whichever comes first. */
const MAX_ITERATIONS = 10;
const MAX_SECONDS = 30;
/** A backend whose iteration would take longer than this is reported as too slow. */
const MAX_ITERATION_SECONDS = 150;

interface Measurement {
  imagesPerSecond: number | null;
  note: string;
}

export interface ThroughputRow extends Measurement {
  config: string;
  implementation: string;
  threads: number;
  gflops: number | null;
  /** Share of the fp32 peak of `threads` cores, in %. */
  peakPercent: number | null;
  /** images/s over PyTorch's with the same configuration and number of threads. */
  vsPytorch: number | null;
}

export interface Throughput {
  machine: Machine;
  /** What ran PyTorch, from its first successful run. */
  torch: TorchRun | null;
  torchEnvironment: Omit<TorchProbe, "chosen"> & { chosen: string };
  backends: BackendStatus[];
  rows: ThroughputRow[];
  /** The machine, PyTorch's setup and the backends, in lines for the report. */
  header: string;
  table: string;
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

/**
 * Convolution FLOPs per image and iteration: D runs forward 3 times and backward 3 times
 * (each backward pass costs two forward ones: the input's and the filter's gradients), G
 * forward once and backward once. PyTorch and tfjs do the same work, so the same count
 * serves both.
 */
export function iterationFlops(config: BenchConfig): number {
  return 9 * forwardFlops(discriminatorLayers(config), config.imageSize) + 3 * forwardFlops(generatorLayers(config), 1);
}

/** A fresh Gan of `config` on the active backend with one fixed real batch; `iterate` times one whole iteration, in seconds. */
export function trainingLoop(config: BenchConfig): { iterate(): Promise<number>; dispose(): void } {
  const gan = Gan.create(config, { lr: 0.0002, beta1: 0.5 }, 999);
  const real = tf.randomUniform([config.batchSize, config.imageSize, config.imageSize, config.channels], -1, 1) as tf.Tensor4D;
  return {
    async iterate() {
      const noise = tf.randomNormal([config.batchSize, config.nz]) as tf.Tensor2D;
      const start = performance.now();
      await gan.step(real, noise);
      noise.dispose();
      return (performance.now() - start) / 1000;
    },
    dispose() {
      real.dispose();
      gan.dispose();
    },
  };
}

async function benchTfjs(config: BenchConfig): Promise<Measurement> {
  const loop = trainingLoop(config);
  try {
    const cold = await loop.iterate(); // kernels compile, memory is allocated
    // A backend this slow (pure-JS cpu) would take minutes per timed iteration; its cold one says enough.
    if (cold > MAX_SECONDS) return { imagesPerSecond: config.batchSize / cold, note: "one cold iteration: too slow to time more" };
    const times: number[] = [];
    let total = 0;
    while (times.length < MAX_ITERATIONS && total < MAX_SECONDS) {
      const t = await loop.iterate();
      times.push(t);
      total += t;
    }
    return { imagesPerSecond: config.batchSize / percentile(times, 50), note: `median of ${times.length} iterations` };
  } finally {
    loop.dispose();
  }
}

function listFromEnv(name: string): string[] | null {
  const value = process.env[name]?.trim();
  return value ? value.split(",").map((s) => s.trim()) : null;
}


/** The configurations to measure: all, or those DCGAN_BENCH_CONFIGS names ("b", "a,b"). */
export function selectedConfigs(): BenchConfig[] {
  const configNames = listFromEnv("DCGAN_BENCH_CONFIGS");
  return configNames ? CONFIGS.filter((c) => configNames.some((n) => c.name.startsWith(`(${n})`))) : CONFIGS;
}

export async function benchThroughput(report: BackendStatus[]): Promise<Throughput> {
  const machine = describeMachine();
  const configs = selectedConfigs();
  const backendNames = listFromEnv("DCGAN_BENCH_BACKENDS");
  const backends = report.filter((r) => r.available && (!backendNames || backendNames.includes(r.name)));
  const threadCounts = [...new Set([1, ALL_CORES])];

  const missing = referenceMissing();
  let probe: TorchProbe | null = null;
  let probeFailure: string | null = null;
  if (!missing && configs.length) {
    process.stderr.write("probing PyTorch's environment...\n");
    try {
      probe = await probeTorchEnvironment(machine, configs[0]!);
      process.stderr.write(`PyTorch environment: ${probe.summary}\n`);
    } catch (err) {
      probeFailure = (err as Error).message;
    }
  }
  let torch: TorchRun | null = null;

  const rows: ThroughputRow[] = [];
  const add = (config: BenchConfig, implementation: string, threads: number, measured: Measurement) => {
    const gflops = measured.imagesPerSecond === null ? null : (measured.imagesPerSecond * iterationFlops(config)) / 1e9;
    const pytorch = rows.find((r) => r.config === config.name && r.threads === threads && r.implementation.startsWith("pytorch"));
    const row: ThroughputRow = {
      config: config.name,
      implementation: `${implementation}, ${threadsLabel(threads)}`,
      threads,
      ...measured,
      gflops,
      peakPercent: gflops === null ? null : (100 * gflops) / peakGflops(machine, threads),
      vsPytorch:
        measured.imagesPerSecond === null ? null : implementation.startsWith("pytorch") ? 1 : pytorch?.imagesPerSecond ? measured.imagesPerSecond / pytorch.imagesPerSecond : null,
    };
    rows.push(row);
    const ips = row.imagesPerSecond === null ? "-" : row.imagesPerSecond.toFixed(1);
    process.stderr.write(`${row.config} | ${row.implementation}: ${ips} img/s, ${gflops?.toFixed(1) ?? "-"} GFLOP/s (${row.note})\n`);
  };

  // FLOP/s measured on the first configuration predict the others' iteration time, so
  // that the pure-JS backend is not left running for hours and PyTorch runs about
  // MAX_SECONDS. A backend's rate with one thread stands in for more threads.
  const flopRate = new Map<string, number>();
  const rateOf = (implementation: string, threads: number) => flopRate.get(`${implementation}|${threads}`) ?? flopRate.get(`${implementation}|1`);
  for (const config of configs) {
    const flops = config.batchSize * iterationFlops(config);
    for (const threads of threadCounts) {
      if (missing || !probe) {
        add(config, "pytorch cpu", threads, { imagesPerSecond: null, note: missing ?? probeFailure ?? "not run" });
      } else {
        const rate = rateOf("pytorch", threads);
        const iterations = rate ? Math.max(2, Math.min(MAX_ITERATIONS, Math.floor((MAX_SECONDS * rate) / flops))) : MAX_ITERATIONS;
        try {
          const run = await runTorch(config, threads, iterations, probe.chosen.env);
          torch ??= run;
          flopRate.set(`pytorch|${threads}`, run.images_per_s * iterationFlops(config));
          const blasThreads = run.blas.openblas ? `, OpenBLAS ${run.blas.openblas.threads}` : "";
          add(config, "pytorch cpu", threads, {
            imagesPerSecond: run.images_per_s,
            note: `torch ${run.torch}, median of ${iterations} iterations; threads: torch ${run.threads}${blasThreads}`,
          });
        } catch (err) {
          add(config, "pytorch cpu", threads, { imagesPerSecond: null, note: `unavailable: ${(err as Error).message}` });
        }
      }
      for (const backend of backends) {
        // A backend the threads setting does not reach (a GPU, TensorFlow's own pools, one
        // JavaScript thread) would only repeat its row: measured once, among the 1-thread rows.
        if (!backend.threaded && threads !== 1) continue;
        const implementation = `tfjs ${backend.name}${/software adapter/.test(backend.detail) ? " (software adapter)" : ""}`;
        const rate = rateOf(backend.name, threads);
        const predicted = rate ? flops / rate : 0;
        if (predicted > MAX_ITERATION_SECONDS) {
          add(config, implementation, threads, { imagesPerSecond: null, note: `skipped: about ${predicted.toFixed(0)} s per iteration` });
          continue;
        }
        setThreads(threads);
        await useBackend(backend.name);
        const measured = await benchTfjs(config);
        if (measured.imagesPerSecond) flopRate.set(`${backend.name}|${threads}`, measured.imagesPerSecond * iterationFlops(config));
        add(config, implementation, threads, measured);
      }
    }
  }
  setThreads(ALL_CORES);

  const header = [
    ...machineLines(machine),
    `PyTorch: ${torch ? describeTorch(torch) : (missing ?? probeFailure ?? "no successful run")}`,
    ...(probe ? [`PyTorch's environment: ${probe.summary}`] : []),
    `tfjs: setThreads(n) before each measurement; ${backends.map((b) => `${b.name}: ${b.detail}`).join("; ") || "no backend measured"}`,
    "GFLOP/s count the convolutions only (9 forward-pass equivalents of D and 3 of G per image); % of peak is against the peak of as many cores as threads.",
  ].join("\n");
  const fixed = (v: number | null, digits: number, suffix = "") => (v === null ? "-" : `${v.toFixed(digits)}${suffix}`);
  const table = [
    "| configuration | implementation | images/s | vs PyTorch, same threads | GFLOP/s | % of fp32 peak | note |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.config} | ${r.implementation} | ${fixed(r.imagesPerSecond, 1)} | ${fixed(r.vsPytorch, 2, "x")} | ${fixed(r.gflops, 1)} | ` +
        `${fixed(r.peakPercent, 1, " %")} | ${r.note} |`,
    ),
  ].join("\n");
  return {
    machine,
    torch,
    torchEnvironment: { chosen: probe?.chosen.name ?? "none", summary: probe?.summary ?? missing ?? probeFailure ?? "", results: probe?.results ?? [] },
    backends,
    rows,
    header,
    table,
  };
}
