import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { encodeCheckpoint } from "./checkpoint.js";
import type { ResolvedConfig } from "./config.js";
import { epochOrder } from "./data/index.js";
import type { Dataset } from "./data/dataset.js";
import { makeFolder, writeFileAtomic } from "./files.js";
import type { Gan } from "./gan.js";
import type { Rng } from "./rng.js";
import { checkpointFileName, fixedNoiseSampleFileName, realSampleFileName } from "./run-files.js";
import { diversityScore } from "./diversity.js";
import { FIXED_NOISE_COUNT, writeGridPng } from "./samples.js";
import { WriteQueue } from "./write-queue.js";

export interface FileWritten {
  path: string;
  iteration: number;
  epoch: number;
  bytes: number;
}

export interface SampleWritten extends FileWritten {
  /** G's images of the fixed noise, or a grid of real training images. */
  kind: "fixed-noise" | "real";
  /** Fixed-noise grids: how different its images are from each other (diversityScore); 0 when all are equal. */
  diversity?: number;
}

export interface OutputEvents {
  onSample?(sample: SampleWritten): void | Promise<void>;
  onCheckpoint?(checkpoint: FileWritten): void | Promise<void>;
}

/** The training state a sample or a checkpoint is taken from. */
export interface RunState {
  config: ResolvedConfig;
  gan: Gan;
  /** FIXED_NOISE_COUNT x nz values, the same for the whole run. */
  fixedNoise: Float32Array;
  noiseRng: Rng;
}

export interface RunFolders {
  samplesDir: string;
  checkpointsDir: string;
}

/**
 * Everything a run writes besides its metrics: the grid of real images, G's images
 * of the fixed noise, checkpoints. Rendering and serializing happen when asked,
 * between iterations; encoding and writing to disk go on in the background, one file
 * at a time and in order, and a failed write is rethrown by the next call.
 */
export class RunOutput {
  private readonly writes = new WriteQueue();
  private readonly fixedNoise: tf.Tensor2D;
  private lastSampleAt = -1;
  private lastCheckpointAt = -1;
  private lastCheckpoint: string | undefined;

  /** `folders` from makeFolders. */
  constructor(
    private readonly folders: RunFolders,
    private readonly run: RunState,
    private readonly events: OutputEvents,
  ) {
    this.fixedNoise = tf.tensor2d(run.fixedNoise, [FIXED_NOISE_COUNT, run.config.nz]);
  }

  /** Creates outDir/samples and outDir/checkpoints. */
  static async makeFolders(outDir: string): Promise<RunFolders> {
    const samplesDir = join(outDir, "samples");
    const checkpointsDir = join(outDir, "checkpoints");
    await makeFolder(samplesDir);
    await makeFolder(checkpointsDir);
    return { samplesDir, checkpointsDir };
  }

  /** The grid of the first training images, as the tutorial plots before training. */
  async realImages(dataset: Dataset, perEpoch: number): Promise<void> {
    const { config } = this.run;
    const path = join(this.folders.samplesDir, realSampleFileName());
    const count = Math.min(FIXED_NOISE_COUNT, perEpoch * config.batchSize);
    const data = await dataset.load(epochOrder(config.seed, 0, dataset.size).subarray(0, count));
    await this.writes.add(async () => {
      const bytes = await writeGridPng(path, { data, count, size: config.imageSize, channels: config.channels });
      await this.events.onSample?.({ kind: "real", path, iteration: 0, epoch: 0, bytes });
    });
  }

  /** G's images of the fixed noise after `iteration`. */
  async sample(iteration: number, epoch: number): Promise<void> {
    const { config, gan } = this.run;
    const sample = { kind: "fixed-noise" as const, path: join(this.folders.samplesDir, fixedNoiseSampleFileName(iteration)), iteration, epoch };
    const data = await gan.generate(this.fixedNoise);
    this.lastSampleAt = iteration;
    await this.writes.add(async () => {
      const images = { data, count: FIXED_NOISE_COUNT, size: config.imageSize, channels: config.channels };
      const diversity = diversityScore(images);
      const bytes = await writeGridPng(sample.path, images);
      await this.events.onSample?.({ ...sample, bytes, diversity });
    });
  }

  /** Everything needed to resume exactly after `iteration`. */
  async checkpoint(iteration: number, epoch: number): Promise<void> {
    const { config, gan, noiseRng, fixedNoise } = this.run;
    const checkpoint = { path: join(this.folders.checkpointsDir, checkpointFileName(iteration)), iteration, epoch };
    const chunks = await encodeCheckpoint(gan, { config, iteration, epoch, noiseRngState: noiseRng.state(), fixedNoise });
    this.lastCheckpointAt = iteration;
    await this.writes.add(async () => {
      await writeFileAtomic(checkpoint.path, chunks);
      const written = { ...checkpoint, bytes: chunks.reduce((sum, c) => sum + c.length, 0) };
      this.lastCheckpoint = written.path;
      await this.events.onCheckpoint?.(written);
    });
  }

  /** A run stopped early: a sample and a checkpoint of `iteration`, unless already taken. */
  async stopAt(iteration: number, epoch: number): Promise<void> {
    if (this.lastSampleAt !== iteration) await this.sample(iteration, epoch);
    if (this.lastCheckpointAt !== iteration) await this.checkpoint(iteration, epoch);
  }

  /** Rethrows a failed background write. */
  check(): void {
    this.writes.check();
  }

  /** Waits for every write (rethrowing the first failure); the path of the last checkpoint written. */
  async finish(): Promise<string | undefined> {
    await this.writes.drain();
    return this.lastCheckpoint;
  }

  /** Waits for every write, ignoring failures, and frees the fixed noise: for the end of a run, however it ends. */
  async close(): Promise<void> {
    await this.writes.settle();
    this.fixedNoise.dispose();
  }
}
