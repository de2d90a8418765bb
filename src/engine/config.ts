import { z } from "zod";

export const DATASET_KINDS = ["synthetic", "fashion-mnist", "mnist", "folder"] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export const BACKEND_CHOICES = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Where Debian's dataset-fashion-mnist package installs the IDX files. */
export const DEFAULT_FASHION_MNIST_PATH = "/usr/share/datasets/fashion-mnist";

/** 16, 32, 64, 128, ...: the models halve the image down to 4x4 in stride-2 steps. */
export function isValidImageSize(size: number): boolean {
  if (!Number.isInteger(size) || size < 16) return false;
  let s = size;
  while (s > 4 && s % 2 === 0) s /= 2;
  return s === 4;
}

/** Number of stride-2 layers in each network: 64 -> 4 (the tutorial's five-layer nets). */
export function strideTwoLayers(imageSize: number): number {
  return Math.log2(imageSize / 4);
}

const positiveInt = z.number().int().positive();

/**
 * Everything that defines a training run. Defaults are the PyTorch DCGAN tutorial's,
 * except the dataset (its CelebA folder is not on every machine).
 */
export const trainConfigSchema = z
  .object({
    dataset: z.enum(DATASET_KINDS).default("synthetic"),
    /** Folder of the IDX files or images; fashion-mnist/mnist default to Debian's path. */
    dataPath: z.string().min(1).optional(),
    imageSize: z
      .number()
      .int()
      .refine(isValidImageSize, "must be 4 times a power of two and at least 16 (16, 32, 64, 128, ...)")
      .default(64),
    /** Image channels (nc); taken from the dataset when not given. */
    channels: z.number().int().min(1).max(4).optional(),
    nz: positiveInt.max(4096).default(100),
    ngf: positiveInt.max(1024).default(64),
    ndf: positiveInt.max(1024).default(64),
    // BatchNorm needs more than one value per channel to estimate a variance.
    batchSize: z.number().int().min(2).max(65536).default(128),
    lr: z.number().gt(0).max(1).default(0.0002),
    beta1: z.number().min(0).lt(1).default(0.5),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(999),
    /** Total iterations; when absent, `epochs` full passes over the data. */
    iterations: positiveInt.optional(),
    epochs: positiveInt.default(5),
    /** Render the fixed-noise grid every N iterations (and at the end). */
    sampleEvery: positiveInt.default(500),
    /** Write a checkpoint every N iterations (and at the end). */
    checkpointEvery: positiveInt.default(500),
    backend: z.enum(BACKEND_CHOICES).default("auto"),
  })
  .strict();

export type TrainConfigInput = z.input<typeof trainConfigSchema>;
export type TrainConfig = z.output<typeof trainConfigSchema>;

/** A config whose dataset has been opened: channels and the epoch length are known. */
export type ResolvedConfig = TrainConfig & { channels: number };

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = "ConfigError";
  }
}

/** Applies defaults and validates; the error names the first offending field. */
export function parseTrainConfig(input: TrainConfigInput): TrainConfig {
  const result = trainConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join(".") : "config";
  const message =
    issue.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.join(", ")}` : issue.message;
  throw new ConfigError(field, message);
}
