import { Field, Float, InputType, Int } from "type-graphql";
import { DEFAULT_FASHION_MNIST_PATH, TRAIN_DEFAULTS, type TrainConfigInput } from "../../engine/config.js";
import { InputError } from "../input-error.js";
import { SWEEP_AXES } from "../sweeps/grid.js";
import type { StartSweep } from "../sweeps/sweep-service.js";
import { Backend, backendFromEngine, backendToEngine, DatasetKind, datasetFromEngine, datasetToEngine } from "./enums.js";

// Defaults are the engine's (TRAIN_DEFAULTS), published as the schema's default values.
// An explicit null takes the default too: toConfig drops it and the engine fills it in.

@InputType()
export class DatasetInput {
  @Field(() => DatasetKind, { defaultValue: datasetFromEngine(TRAIN_DEFAULTS.dataset) })
  kind!: DatasetKind;

  @Field(() => String, {
    nullable: true,
    description: `Folder of IDX files (FASHION_MNIST defaults to ${DEFAULT_FASHION_MNIST_PATH}) or of images`,
  })
  path?: string;
}

@InputType({ description: "Checkpoint retention: older checkpoints outside it are deleted as new ones land (never the newest, nor one a resume, a fork or a generate needs)" })
export class KeepCheckpointsInput {
  @Field(() => Int, { nullable: true, description: "Keep the newest N; 0 or absent: no such rule" })
  last?: number;

  @Field(() => Int, { nullable: true, description: "Also keep those whose iteration is a multiple of K; 0 or absent: no such rule" })
  every?: number;
}

/**
 * Input settings as the engine names them: the dataset's kind and path as `dataset` and
 * `dataPath`, enum values as the engine's; the fields left out, or sent as null, absent.
 */
function engineSettings({ dataset, backend, ...rest }: { dataset?: DatasetInput; backend?: Backend }): Partial<TrainConfigInput> {
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== null));
  return {
    ...defined,
    ...(dataset?.kind ? { dataset: datasetToEngine(dataset.kind) } : {}),
    ...(dataset?.path ? { dataPath: dataset.path } : {}),
    ...(backend ? { backend: backendToEngine(backend) } : {}),
  };
}

/** Omitted fields take the PyTorch DCGAN tutorial's defaults, validated by the engine. */
@InputType({ description: "A new run; every field defaults to the PyTorch DCGAN tutorial's value" })
export class StartRunInput {
  @Field(() => String, { nullable: true })
  name?: string;

  @Field(() => DatasetInput, { nullable: true, defaultValue: { kind: datasetFromEngine(TRAIN_DEFAULTS.dataset) } })
  dataset?: DatasetInput;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.imageSize, description: "4 * 2^k, at least 16" })
  imageSize?: number;

  @Field(() => Int, { nullable: true, description: "nc; the dataset's unless given" })
  channels?: number;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.nz, description: "Latent vector size" })
  nz?: number;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.ngf, description: "Generator width" })
  ngf?: number;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.ndf, description: "Discriminator width" })
  ndf?: number;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.batchSize })
  batchSize?: number;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.epochs, description: "Passes over the data, unless iterations is given" })
  epochs?: number;

  @Field(() => Int, { nullable: true, description: "Total iterations, instead of epochs" })
  iterations?: number;

  @Field(() => Float, { nullable: true, defaultValue: TRAIN_DEFAULTS.lr, description: "Adam learning rate" })
  lr?: number;

  @Field(() => Float, { nullable: true, defaultValue: TRAIN_DEFAULTS.beta1, description: "Adam beta1" })
  beta1?: number;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.seed })
  seed?: number;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.sampleEvery, description: "Render the fixed-noise grid every N iterations" })
  sampleEvery?: number;

  @Field(() => Int, { nullable: true, defaultValue: TRAIN_DEFAULTS.checkpointEvery, description: "Write a checkpoint every N iterations" })
  checkpointEvery?: number;

  @Field(() => Backend, { nullable: true, defaultValue: backendFromEngine(TRAIN_DEFAULTS.backend) })
  backend?: Backend;

  @Field(() => Int, {
    nullable: true,
    description: "CPU threads of the wasm backend's native kernels (default: the server's cores but one, shared between MAX_CONCURRENT_RUNS)",
  })
  threads?: number;

  @Field(() => KeepCheckpointsInput, { nullable: true, description: "Checkpoint retention (default: the server's KEEP_CHECKPOINTS, else keep all)" })
  keepCheckpoints?: KeepCheckpointsInput;

  toConfig(): TrainConfigInput & { name?: string; keepCheckpoints?: { last?: number; every?: number } } {
    const { name, keepCheckpoints, ...settings } = this;
    return {
      ...engineSettings(settings),
      name: name ?? undefined,
      ...(keepCheckpoints ? { keepCheckpoints: { last: keepCheckpoints.last ?? undefined, every: keepCheckpoints.every ?? undefined } } : {}),
    };
  }
}

/** How ForkRunInput describes a field the checkpoint fixes. */
const FIXED = "Refused (BAD_USER_INPUT) unless equal to the checkpoint's run";

/** What forkRun may change; every field left out keeps the parent run's value. */
@InputType({
  description:
    "Hyperparameters a forked run changes; omitted ones keep the parent's. The networks' shapes, the dataset and the seed stay the checkpoint's",
})
export class ForkRunInput {
  @Field(() => Float, { nullable: true, description: "Adam learning rate from the fork on" })
  lr?: number;

  @Field(() => Float, { nullable: true, description: "Adam beta1 from the fork on" })
  beta1?: number;

  @Field(() => Int, { nullable: true })
  batchSize?: number;

  @Field(() => Int, { nullable: true, description: "Total iterations, counted from the parent's first; more than the fork's iteration" })
  iterations?: number;

  @Field(() => Int, { nullable: true, description: "Passes over the data, counted from the parent's first, unless iterations is given" })
  epochs?: number;

  @Field(() => Int, { nullable: true, description: "Render the fixed-noise grid every N iterations" })
  sampleEvery?: number;

  @Field(() => Int, { nullable: true, description: "Write a checkpoint every N iterations" })
  checkpointEvery?: number;

  @Field(() => Backend, { nullable: true })
  backend?: Backend;

  @Field(() => Int, { nullable: true, description: "CPU threads of the wasm backend's native kernels" })
  threads?: number;

  // What the checkpoint fixes (FORK_FIXED): accepted so that a client sending a
  // StartRunInput-like set gets a refusal naming the field, not a schema error.

  @Field(() => DatasetInput, { nullable: true, description: `${FIXED}'s dataset` })
  dataset?: DatasetInput;

  @Field(() => Int, { nullable: true, description: `${FIXED}'s imageSize` })
  imageSize?: number;

  @Field(() => Int, { nullable: true, description: `${FIXED}'s channels` })
  channels?: number;

  @Field(() => Int, { nullable: true, description: `${FIXED}'s nz` })
  nz?: number;

  @Field(() => Int, { nullable: true, description: `${FIXED}'s ngf` })
  ngf?: number;

  @Field(() => Int, { nullable: true, description: `${FIXED}'s ndf` })
  ndf?: number;

  @Field(() => Int, { nullable: true, description: `${FIXED}'s seed` })
  seed?: number;

  toChanges(): Partial<TrainConfigInput> {
    return engineSettings(this);
  }
}

/**
 * The values a sweep tries, per config field: one field per SWEEP_AXES entry, made from
 * that list (so a field added there is in the schema too).
 */
@InputType({ description: "Lists of values to try, per setting; every combination runs. A setting left out keeps the base's value" })
export class SweepGridInput {
  [field: string]: number[] | null | undefined;
}
for (const [field, scalar] of Object.entries(SWEEP_AXES)) {
  Field(() => [scalar === "Int" ? Int : Float], { nullable: true, description: `Values of ${field} to try` })(SweepGridInput.prototype, field);
}

@InputType({ description: "A hyperparameter sweep: one run per combination of the grid's values, for each seed" })
export class StartSweepInput {
  @Field(() => String, { nullable: true, description: "Also the start of each run's name, which then lists its values" })
  name?: string;

  @Field(() => StartRunInput, { nullable: true, description: "What every run has, unless the grid or the seeds set it; the tutorial's defaults" })
  base?: StartRunInput;

  @Field(() => SweepGridInput)
  grid!: SweepGridInput;

  @Field(() => [Int], { nullable: true, description: "Each combination runs once per seed (default: the base's seed)" })
  seeds?: number[];

  toSweep(): StartSweep {
    const { name: baseName, ...base } = this.base?.toConfig() ?? {};
    if (baseName !== undefined) throw new InputError("base.name", "a sweep names its runs: give the sweep's `name`, which starts each run's name");
    return {
      name: this.name ?? undefined,
      base,
      grid: Object.fromEntries(Object.keys(SWEEP_AXES).map((f) => [f, this.grid[f] ?? undefined])),
      seeds: this.seeds ?? undefined,
    };
  }
}
