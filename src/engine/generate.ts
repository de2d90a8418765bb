import * as tf from "@tensorflow/tfjs-core";
import { loadCheckpoint, restoreGan } from "./checkpoint.js";
import { Rng } from "./rng.js";
import { writeGridPng } from "./samples.js";

export interface GenerateOptions {
  /** How many images. */
  count: number;
  /** Seed of the noise: the same checkpoint, seed and count render the same grid. */
  seed: number;
  /** The PNG to write (atomically). */
  out: string;
  /** Normalise with BatchNorm's running statistics instead of the batch's (tutorial style). */
  inference?: boolean;
}

export interface GeneratedGrid {
  path: string;
  count: number;
  /** The checkpoint's progress. */
  iteration: number;
  epoch: number;
  bytes: number;
}

/**
 * Renders new images from a checkpoint's generator as a grid PNG (8 per row, like
 * make_grid), on the active backend. A checkpoint that cannot be read is a CheckpointError.
 */
export async function generateFromCheckpoint(checkpointPath: string, { count, seed, out, inference }: GenerateOptions): Promise<GeneratedGrid> {
  const checkpoint = await loadCheckpoint(checkpointPath);
  const { nz, imageSize, channels } = checkpoint.config;
  const gan = restoreGan(checkpoint);
  let data: Float32Array;
  try {
    const noise = tf.tensor2d(Rng.stream(seed, "generate").normal(count * nz), [count, nz]);
    try {
      data = await gan.generate(noise, inference);
    } finally {
      noise.dispose();
    }
  } finally {
    gan.dispose();
  }
  const bytes = await writeGridPng(out, { data, count, size: imageSize, channels });
  return { path: out, count, iteration: checkpoint.iteration, epoch: checkpoint.epoch, bytes };
}
