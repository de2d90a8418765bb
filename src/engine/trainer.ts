import * as tf from "@tensorflow/tfjs-core";
import { type BackendSelection, useBackend } from "./backends/index.js";
import { ALL_CORES, setThreads } from "./backends/threads.js";
import { type Checkpoint, restoreGan } from "./checkpoint.js";
import { ConfigError, FORK_FIXED, type ResolvedConfig, type TrainConfig } from "./config.js";
import { batchesPerEpoch, epochOrder, openDataset } from "./data/index.js";
import type { Dataset } from "./data/dataset.js";
import { Gan } from "./gan.js";
import { asOutOfMemory } from "./memory.js";
import type { IterationMetrics } from "./metrics.js";
import { Rng } from "./rng.js";
import { type OutputEvents, RunOutput } from "./run-output.js";
import { FIXED_NOISE_COUNT } from "./samples.js";

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

export type { FileWritten, SampleWritten } from "./run-output.js";

export interface TrainEvents extends OutputEvents {
  onStart?(info: RunInfo): void;
  /** Awaited before the next iteration starts. */
  onIteration?(metrics: IterationMetrics): void | Promise<void>;
}

export interface TrainOptions extends TrainEvents {
  /** Samples go to outDir/samples, checkpoints to outDir/checkpoints. */
  outDir: string;
  /** Continue from this checkpoint, with the same iteration numbering. */
  resume?: Checkpoint;
  /**
   * The checkpoint is another run's (a fork): the config may change the settings that
   * neither the networks' shapes nor the data define (FORK_FIXED stay).
   */
  fork?: boolean;
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
  const { outDir, resume, signal, dataRoots, fork = false } = options;
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
  if (resume) checkResumable(cfg, resume.config, fork ? FORK_FIXED : RUN_IDENTITY);
  const perEpoch = batchesPerEpoch(dataset, cfg.batchSize);
  const totalIterations = cfg.iterations ?? cfg.epochs * perEpoch;
  const epochs = Math.ceil(totalIterations / perEpoch);
  const folders = await RunOutput.makeFolders(outDir);

  // This run's lr and beta1 (a fork's may differ from the checkpoint's).
  const gan = resume ? restoreGan(resume, cfg) : Gan.create(cfg, cfg, cfg.seed);
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
  const output = new RunOutput(folders, { config: cfg, gan, fixedNoise, noiseRng }, options);
  try {
    if (!resume) await output.realImages(dataset, perEpoch);
    let next = prefetch(batches, iteration);
    while (iteration < totalIterations && !signal?.aborted) {
      output.check();
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
      if (iteration % cfg.sampleEvery === 0 || last) await output.sample(iteration, epoch);
      if (iteration % cfg.checkpointEvery === 0 || last) await output.checkpoint(iteration, epoch);
    }
    const stopped = iteration < totalIterations;
    if (stopped && iteration > 0) await output.stopAt(iteration, epoch);
    const lastCheckpoint = await output.finish();
    return { status: stopped ? "stopped" : "completed", iteration, epoch, lastCheckpoint };
  } finally {
    // Nothing of the run is still being written once train() returns or throws.
    await output.close();
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

function checkResumable(config: ResolvedConfig, saved: ResolvedConfig, fixed: readonly (keyof ResolvedConfig)[]): void {
  for (const field of fixed) {
    if (config[field] !== saved[field]) {
      throw new ConfigError(field, `is ${String(config[field])} but the checkpoint was trained with ${String(saved[field])}`);
    }
  }
}
