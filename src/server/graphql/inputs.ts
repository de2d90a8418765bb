import { Field, Float, InputType, Int } from "type-graphql";
import type { TrainConfigInput } from "../../engine/config.js";
import { Backend, backendToEngine, DatasetKind, DATASET_TO_ENGINE } from "./enums.js";

@InputType()
export class DatasetInput {
  @Field(() => DatasetKind, { defaultValue: DatasetKind.SYNTHETIC })
  kind!: DatasetKind;

  @Field(() => String, {
    nullable: true,
    description: "Folder of IDX files (FASHION_MNIST defaults to /usr/share/datasets/fashion-mnist) or of images",
  })
  path?: string;
}

/** Omitted fields take the PyTorch DCGAN tutorial's defaults, validated by the engine. */
@InputType({ description: "A new run; every field defaults to the PyTorch DCGAN tutorial's value" })
export class StartRunInput {
  @Field(() => String, { nullable: true })
  name?: string;

  @Field(() => DatasetInput, { nullable: true, description: "SYNTHETIC unless given" })
  dataset?: DatasetInput;

  @Field(() => Int, { nullable: true, description: "4 * 2^k, at least 16 (default 64)" })
  imageSize?: number;

  @Field(() => Int, { nullable: true, description: "nc; the dataset's unless given" })
  channels?: number;

  @Field(() => Int, { nullable: true, description: "Latent vector size (default 100)" })
  nz?: number;

  @Field(() => Int, { nullable: true, description: "Generator width (default 64)" })
  ngf?: number;

  @Field(() => Int, { nullable: true, description: "Discriminator width (default 64)" })
  ndf?: number;

  @Field(() => Int, { nullable: true, description: "Default 128" })
  batchSize?: number;

  @Field(() => Int, { nullable: true, description: "Passes over the data (default 5), unless iterations is given" })
  epochs?: number;

  @Field(() => Int, { nullable: true, description: "Total iterations, instead of epochs" })
  iterations?: number;

  @Field(() => Float, { nullable: true, description: "Adam learning rate (default 0.0002)" })
  lr?: number;

  @Field(() => Float, { nullable: true, description: "Adam beta1 (default 0.5)" })
  beta1?: number;

  @Field(() => Int, { nullable: true, description: "Default 999" })
  seed?: number;

  @Field(() => Int, { nullable: true, description: "Render the fixed-noise grid every N iterations (default 500)" })
  sampleEvery?: number;

  @Field(() => Int, { nullable: true, description: "Write a checkpoint every N iterations (default 500)" })
  checkpointEvery?: number;

  @Field(() => Backend, { nullable: true, description: "Default AUTO" })
  backend?: Backend;

  @Field(() => Int, {
    nullable: true,
    description: "CPU threads of the wasm backend's native kernels (default: the server's cores but one, shared between MAX_CONCURRENT_RUNS)",
  })
  threads?: number;

  toConfig(): TrainConfigInput & { name?: string } {
    const { dataset, backend, name, ...rest } = this;
    const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== null));
    return {
      ...defined,
      name: name ?? undefined,
      dataset: DATASET_TO_ENGINE[dataset?.kind ?? DatasetKind.SYNTHETIC],
      ...(dataset?.path ? { dataPath: dataset.path } : {}),
      ...(backend ? { backend: backendToEngine(backend) } : {}),
    };
  }
}
