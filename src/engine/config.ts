import { z } from "zod";

export const DATASET_KINDS = ["synthetic", "fashion-mnist", "mnist", "folder"] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** The backends, in `auto`'s order of preference (src/engine/backends loads them). */
export const BACKEND_ORDER = ["tensorflow", "webgpu", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export const BACKEND_CHOICES = ["auto", ...BACKEND_ORDER] as const;
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

/** More threads than any machine this runs on has cores: beyond, only oversubscription. */
export const MAX_THREADS = 1024;

/** Linux's PATH_MAX: no longer path can be opened, so none is worth accepting. */
export const MAX_PATH_BYTES = 4096;

/** What a whole-number setting must be: one plain message however it is missed. */
function wholeNumber(min: number, max?: number) {
  const error = max === undefined ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`;
  const schema = z.number({ error }).int().min(min);
  return max === undefined ? schema : schema.max(max);
}

/** What 1 and 3 channels do with a dataset of the other kind; other counts mean nothing to the datasets. */
const CHANNELS = "must be 1 or 3: 1 trains on grey images (colour ones are converted to grey), 3 on colour ones (grey ones repeat their grey in all three)";

/**
 * Everything that defines a training run. Defaults are the PyTorch DCGAN tutorial's,
 * except the dataset (its CelebA folder is not on every machine). Every field's
 * message says what it must be, without the field's name: errors are `field: message`.
 */
export const trainConfigSchema = z
  .object({
    dataset: z.enum(DATASET_KINDS, { error: `must be one of ${DATASET_KINDS.join(", ")}` }).default("synthetic"),
    /** Folder of the IDX files or images; fashion-mnist/mnist default to Debian's path. */
    dataPath: z
      .string({ error: `must be a path of 1 to ${MAX_PATH_BYTES} bytes` })
      .min(1)
      .refine((path) => new TextEncoder().encode(path).length <= MAX_PATH_BYTES)
      .optional(),
    imageSize: z
      .number({ error: "must be 4 times a power of two and at least 16 (16, 32, 64, 128, ...)" })
      .refine(isValidImageSize)
      .default(64),
    /** Image channels (nc); taken from the dataset when not given. */
    channels: z.number({ error: CHANNELS }).refine((c): boolean => c === 1 || c === 3).optional(),
    nz: wholeNumber(1, 4096).default(100),
    ngf: wholeNumber(1, 1024).default(64),
    ndf: wholeNumber(1, 1024).default(64),
    // BatchNorm needs more than one value per channel to estimate a variance.
    batchSize: wholeNumber(2, 65536).default(128),
    lr: z.number({ error: "must be a number above 0 and at most 1" }).gt(0).max(1).default(0.0002),
    beta1: z.number({ error: "must be a number from 0 up to, but not including, 1" }).min(0).lt(1).default(0.5),
    seed: wholeNumber(0, 2 ** 31 - 1).default(999),
    /** Total iterations; when absent, `epochs` full passes over the data. */
    iterations: wholeNumber(1).optional(),
    epochs: wholeNumber(1).default(5),
    /** Render the fixed-noise grid every N iterations (and at the end). */
    sampleEvery: wholeNumber(1).default(500),
    /** Write a checkpoint every N iterations (and at the end). */
    checkpointEvery: wholeNumber(1).default(500),
    backend: z.enum(BACKEND_CHOICES, { error: `must be one of ${BACKEND_CHOICES.join(", ")}` }).default("auto"),
    /**
     * Threads for the CPU kernels (the wasm backend with its native kernels). Unset: every
     * core for the CLI; the service picks its own default (RunService), since it shares the machine.
     */
    threads: wholeNumber(1, MAX_THREADS).optional(),
  })
  .strict();

export type TrainConfigInput = z.input<typeof trainConfigSchema>;
export type TrainConfig = z.output<typeof trainConfigSchema>;

/**
 * Every setting's default (the tutorial's), the one source of them: the GraphQL schema
 * publishes them as StartRunInput's default values, the CLI's help and the dashboard's
 * form show them. Settings without a fixed default (channels, iterations, threads,
 * dataPath) are absent.
 */
export const TRAIN_DEFAULTS: Readonly<TrainConfig> = Object.freeze(trainConfigSchema.parse({}));

/**
 * What a fork cannot change: the networks' shapes (the checkpoint's tensors have them)
 * and the data (the dataset, and the seed, which draws the synthetic images and every
 * epoch's order). lr, beta1 and batchSize may change: Adam's moments carry over.
 */
export const FORK_FIXED = ["dataset", "imageSize", "channels", "nz", "ngf", "ndf", "seed"] as const;

/** A config whose dataset has been opened: channels and the epoch length are known. */
export type ResolvedConfig = TrainConfig & { channels: number };

/** One invalid setting and what it must be. */
export interface ConfigIssue {
  readonly field: string;
  readonly detail: string;
}

/** Settings that cannot train: every invalid field at once; `field` and `detail` are the first's. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(
    readonly field: string,
    readonly detail: string,
    more: readonly ConfigIssue[] = [],
  ) {
    const issues = [{ field, detail }, ...more];
    super(issues.map((issue) => `${issue.field}: ${issue.detail}`).join("; "));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** Applies defaults and validates; the error names every offending field, once each. */
export function parseTrainConfig(input: TrainConfigInput): TrainConfig {
  const result = trainConfigSchema.safeParse(input);
  // Checked here rather than as a refinement of the schema, which zod skips once any field is of the wrong type.
  const needsPath = (input.dataset === "mnist" || input.dataset === "folder") && input.dataPath === undefined;
  if (result.success && !needsPath) return result.data;
  const issues = new Map<string, string>();
  for (const issue of result.error?.issues ?? []) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) issues.set(key, "is not a training setting");
    } else {
      const field = issue.path.join(".");
      // A field that misses several checks gets its one message once.
      if (!issues.has(field)) issues.set(field, issue.message);
    }
  }
  if (needsPath) issues.set("dataPath", "is needed for this dataset: only fashion-mnist has a default folder");
  const [first, ...more] = [...issues].map(([field, detail]) => ({ field, detail }));
  throw new ConfigError(first!.field, first!.detail, more);
}
