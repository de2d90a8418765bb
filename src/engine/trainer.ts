import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { type BackendSelection, useBackend } from "./backends/index.js";
import { ALL_CORES, setThreads } from "./backends/threads.js";
import { type Checkpoint, encodeCheckpoint, restoreGan } from "./checkpoint.js";
import { ConfigError, type ResolvedConfig, type TrainConfig } from "./config.js";
import { batchesPerEpoch, epochOrder, openDataset } from "./data/index.js";
import type { Dataset } from "./data/dataset.js";
import { makeFolder, writeFileAtomic } from "./files.js";
import { Gan } from "./gan.js";
import { asOutOfMemory } from "./memory.js";
import type { IterationMetrics } from "./metrics.js";
import { Rng } from "./rng.js";
import { checkpointFileName, fixedNoiseSampleFileName, realSampleFileName } from "./run-files.js";
import { FIXED_NOISE_COUNT, writeGridPng } from "./samples.js";
import { WriteQueue } from "./write-queue.js";

export interface RunInfo {
  config: ResolvedConfig;
  backend: BackendSelection;
  dataset: string;
  batchesPerEpoch: number;
  totalIterations: number;
  epochs: number;
  /** Iterations already done (non-zero when resuming). */
  startIteration: number;
  /** The threads the CPU kernels run on; absent for backends the setting does not reach. */
  threads?: number;
}

export interface FileWritten {
  path: string;
  iteration: number;
  epoch: number;
  bytes: number;
}

export interface SampleWritten extends FileWritten {
  /** G's images of the fixed noise, or a grid of real training images. */
  kind: "fixed-noise" | "real";
}

export interface TrainEvents {
  onStart?(info: RunInfo): void;
  /** Awaited before the next iteration starts. */
  onIteration?(metrics: IterationMetrics): void | Promise<void>;
  onSample?(sample: SampleWritten): void | Promise<void>;
  onCheckpoint?(checkpoint: FileWritten): void | Promise<void>;
}

export interface TrainOptions extends TrainEvents {
  /** Samples go to outDir/samples, checkpoints to outDir/checkpoints. */
  outDir: string;
  /** Continue from this checkpoint, with the same iteration numbering. */
  resume?: Checkpoint;
  /** Folders every dataset file must lie in, symlinks followed (see openDataset); anywhere when absent. */
  dataRoots?: readonly string[];
  /** Aborting stops at the next iteration boundary, with a checkpoint and a sample. */
  signal?: AbortSignal;
}

export interface TrainResult {
  status: "completed" | "stopped";
  iteration: number;
  epoch: number;
  lastCheckpoint?: string;
}

/** Fields that define the networks and the data order: fixed for a run's lifetime. */
const RUN_IDENTITY = ["dataset", "imageSize", "channels", "nz", "ngf", "ndf", "batchSize", "lr", "beta1", "seed"] as const;

/**
 * The tutorial's training loop over a dataset, with samples, checkpoints and a stop
 * signal. Running out of memory for tensors or data ends it with an OutOfMemoryError.
 */
export async function train(config: TrainConfig, options: TrainOptions): Promise<TrainResult> {
  try {
    return await trainLoop(config, options);
  } catch (err) {
    throw asOutOfMemory(err) ?? err;
  }
}

async function trainLoop(config: TrainConfig, options: TrainOptions): Promise<TrainResult> {
  const { outDir, resume, signal, dataRoots } = options;
  const backend = await useBackend(config.backend);
  const threads = config.threads ?? ALL_CORES;
  setThreads(threads);
  const dataset = await openDataset({
    kind: config.dataset,
    path: config.dataPath,
    imageSize: config.imageSize,
    channels: config.channels,
    seed: config.seed,
    dataRoots,
  });
  const cfg: ResolvedConfig = { ...config, channels: dataset.channels };
  if (resume) checkResumable(cfg, resume.config);
  const perEpoch = batchesPerEpoch(dataset, cfg.batchSize);
  const totalIterations = cfg.iterations ?? cfg.epochs * perEpoch;
  const epochs = Math.ceil(totalIterations / perEpoch);
  const samplesDir = join(outDir, "samples");
  const checkpointsDir = join(outDir, "checkpoints");
  await makeFolder(samplesDir);
  await makeFolder(checkpointsDir);

  const gan = resume ? restoreGan(resume) : Gan.create(cfg, cfg, cfg.seed);
  const fixedNoise = resume?.fixedNoise ?? Rng.stream(cfg.seed, "fixed-noise").normal(FIXED_NOISE_COUNT * cfg.nz);
  const noiseRng = resume ? Rng.fromState(resume.noiseRngState) : Rng.stream(cfg.seed, "noise");
  let iteration = resume?.iteration ?? 0;
  let epoch = resume?.epoch ?? 0;
  options.onStart?.({
    config: cfg,
    backend,
    dataset: dataset.description,
    batchesPerEpoch: perEpoch,
    totalIterations,
    epochs,
    startIteration: iteration,
    ...(backend.chosen.threaded ? { threads } : {}),
  });

  const batches = new BatchSource(dataset, cfg.seed, cfg.batchSize, perEpoch);
  const fixedNoiseTensor = tf.tensor2d(fixedNoise, [FIXED_NOISE_COUNT, cfg.nz]);
  let lastSampleAt = -1;
  let lastCheckpointAt = -1;
  let lastCheckpoint: FileWritten | undefined;

  // Rendering and serializing happen here, between iterations; encoding and writing
  // to disk go on in the background.
  const writes = new WriteQueue();
  const writeSample = async () => {
    const sample = { kind: "fixed-noise" as const, path: join(samplesDir, fixedNoiseSampleFileName(iteration)), iteration, epoch };
    const data = await gan.generate(fixedNoiseTensor);
    lastSampleAt = iteration;
    await writes.add(async () => {
      const bytes = await writeGridPng(sample.path, { data, count: FIXED_NOISE_COUNT, size: cfg.imageSize, channels: cfg.channels });
      await options.onSample?.({ ...sample, bytes });
    });
  };
  const writeCheckpoint = async () => {
    const checkpoint = { path: join(checkpointsDir, checkpointFileName(iteration)), iteration, epoch };
    const chunks = await encodeCheckpoint(gan, { config: cfg, iteration, epoch, noiseRngState: noiseRng.state(), fixedNoise });
    lastCheckpointAt = iteration;
    await writes.add(async () => {
      await writeFileAtomic(checkpoint.path, chunks);
      lastCheckpoint = { ...checkpoint, bytes: chunks.reduce((sum, c) => sum + c.length, 0) };
      await options.onCheckpoint?.(lastCheckpoint);
    });
  };

  try {
    if (!resume) {
      const path = join(samplesDir, realSampleFileName());
      const count = Math.min(FIXED_NOISE_COUNT, perEpoch * cfg.batchSize);
      const data = await dataset.load(epochOrder(cfg.seed, 0, dataset.size).subarray(0, count));
      await writes.add(async () => {
        const bytes = await writeGridPng(path, { data, count, size: cfg.imageSize, channels: cfg.channels });
        await options.onSample?.({ kind: "real", path, iteration: 0, epoch: 0, bytes });
      });
    }
    let next = prefetch(batches, iteration);
    while (iteration < totalIterations && !signal?.aborted) {
      writes.check();
      const started = performance.now();
      const realData = await next;
      epoch = Math.floor(iteration / perEpoch);
      const batch = iteration % perEpoch;
      // Prefetch: the next batch loads while this one trains.
      if (iteration + 1 < totalIterations) next = prefetch(batches, iteration + 1);
      const real = tf.tensor4d(realData, [cfg.batchSize, cfg.imageSize, cfg.imageSize, cfg.channels]);
      const noise = tf.tensor2d(noiseRng.normal(cfg.batchSize * cfg.nz), [cfg.batchSize, cfg.nz]);
      const step = await gan.step(real, noise);
      tf.dispose([real, noise]);
      iteration++;
      const seconds = (performance.now() - started) / 1000;
      await options.onIteration?.({
        ...step,
        iteration,
        epoch,
        batch,
        imagesPerSecond: cfg.batchSize / seconds,
        timestamp: Date.now(),
      });
      // wasm and cpu kernels run synchronously: without this, timers, I/O (the metrics
      // file, a parent's messages) and signals would wait for the whole run.
      await new Promise((resolve) => setImmediate(resolve));
      const last = iteration === totalIterations;
      if (iteration % cfg.sampleEvery === 0 || last) await writeSample();
      if (iteration % cfg.checkpointEvery === 0 || last) await writeCheckpoint();
    }
    const stopped = iteration < totalIterations;
    if (stopped && iteration > 0) {
      if (lastSampleAt !== iteration) await writeSample();
      if (lastCheckpointAt !== iteration) await writeCheckpoint();
    }
    await writes.drain();
    return { status: stopped ? "stopped" : "completed", iteration, epoch, lastCheckpoint: lastCheckpoint?.path };
  } finally {
    // Nothing of the run is still being written once train() returns or throws.
    await writes.settle();
    fixedNoiseTensor.dispose();
    gan.dispose();
  }
}

/** Real batches by iteration number: a pure function of the seed, so resuming needs no state. */
class BatchSource {
  private order?: { epoch: number; indices: Uint32Array };

  constructor(
    private readonly dataset: Dataset,
    private readonly seed: number,
    private readonly batchSize: number,
    private readonly perEpoch: number,
  ) {}

  /** The batch trained by 0-based iteration `index`. */
  load(index: number): Promise<Float32Array> {
    const epoch = Math.floor(index / this.perEpoch);
    if (this.order?.epoch !== epoch) {
      this.order = { epoch, indices: epochOrder(this.seed, epoch, this.dataset.size) };
    }
    const start = (index % this.perEpoch) * this.batchSize;
    return this.dataset.load(this.order.indices.subarray(start, start + this.batchSize));
  }
}

/** Starts loading a batch; a failure surfaces when it is awaited, or never if training stops first. */
function prefetch(batches: BatchSource, index: number): Promise<Float32Array> {
  const loading = batches.load(index);
  loading.catch(() => undefined);
  return loading;
}

function checkResumable(config: ResolvedConfig, saved: ResolvedConfig): void {
  for (const field of RUN_IDENTITY) {
    if (config[field] !== saved[field]) {
      throw new ConfigError(field, `is ${String(config[field])} but the checkpoint was trained with ${String(saved[field])}`);
    }
  }
}
