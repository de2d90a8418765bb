import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { RunRecord } from "../../store/types.js";
import { Backend, backendFromEngine, DatasetKind, datasetFromEngine, RunStatus } from "../enums.js";
import { KeepCheckpoints } from "./retention.js";

@ObjectType()
export class DatasetConfig {
  @Field(() => DatasetKind)
  kind!: DatasetKind;

  @Field(() => String, { nullable: true })
  path?: string;
}

@ObjectType({ description: "A run's full training configuration (the tutorial's names)" })
export class RunConfig {
  @Field(() => DatasetConfig)
  dataset!: DatasetConfig;

  @Field(() => Int)
  imageSize!: number;

  @Field(() => Int, { nullable: true, description: "nc; null until the dataset has been opened" })
  channels?: number;

  @Field(() => Int)
  nz!: number;

  @Field(() => Int)
  ngf!: number;

  @Field(() => Int)
  ndf!: number;

  @Field(() => Int)
  batchSize!: number;

  @Field(() => Int, { nullable: true })
  iterations?: number;

  @Field(() => Int)
  epochs!: number;

  @Field(() => Float)
  lr!: number;

  @Field(() => Float)
  beta1!: number;

  @Field(() => Int)
  seed!: number;

  @Field(() => Int)
  sampleEvery!: number;

  @Field(() => Int)
  checkpointEvery!: number;

  @Field(() => Backend)
  backend!: Backend;

  @Field(() => Int, { nullable: true, description: "CPU threads of the wasm backend's native kernels; null for runs from before the setting" })
  threads?: number;
}

@ObjectType({ description: "A training run: its configuration, status and progress" })
export class Run {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => RunStatus)
  status!: RunStatus;

  @Field(() => RunConfig)
  config!: RunConfig;

  @Field(() => String, { nullable: true, description: "The backend actually used, once training started" })
  backend?: string;

  @Field(() => String, { nullable: true })
  backendDetail?: string;

  @Field(() => String, { nullable: true, description: "The dataset as the engine opened it" })
  dataset?: string;

  @Field(() => Int, { nullable: true })
  totalIterations?: number;

  @Field(() => Int, { nullable: true })
  batchesPerEpoch?: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt?: Date;

  @Field(() => Date, { nullable: true })
  finishedAt?: Date;

  @Field(() => Int, { description: "Iterations completed and stored" })
  iteration!: number;

  @Field(() => Int)
  epoch!: number;

  @Field(() => String, { nullable: true })
  error?: string;

  @Field(() => Int, { nullable: true, description: "Where a forked run (forkRun) left its parent: its own iterations are numbered after it" })
  forkIteration?: number;

  @Field(() => KeepCheckpoints, { description: "Its checkpoint retention (startRun's keepCheckpoints, else the server's KEEP_CHECKPOINTS)" })
  keepCheckpoints!: KeepCheckpoints;

  /** The run this one was forked from (the `parent` field's). */
  parentRunId?: string;

  /** Its sweep (the `sweep` field's). */
  sweepId?: string;

  static from(record: RunRecord): Run {
    const c = record.config;
    const config = Object.assign(new RunConfig(), c, {
      dataset: Object.assign(new DatasetConfig(), { kind: datasetFromEngine(c.dataset), path: c.dataPath }),
      backend: backendFromEngine(c.backend),
    });
    const nullable = <T>(v: T | null) => v ?? undefined;
    return Object.assign(new Run(), {
      ...record,
      config,
      backend: nullable(record.backend),
      backendDetail: nullable(record.backendDetail),
      dataset: nullable(record.dataset),
      totalIterations: nullable(record.totalIterations),
      batchesPerEpoch: nullable(record.batchesPerEpoch),
      startedAt: nullable(record.startedAt),
      finishedAt: nullable(record.finishedAt),
      error: nullable(record.error),
      forkIteration: nullable(record.forkIteration),
      parentRunId: nullable(record.parentRunId),
      sweepId: nullable(record.sweepId),
      keepCheckpoints: Object.assign(new KeepCheckpoints(), { last: record.keepLast, every: record.keepEvery }),
    });
  }
}

@ObjectType()
export class PageInfo {
  @Field(() => String, { nullable: true })
  endCursor?: string;

  @Field(() => Boolean)
  hasNextPage!: boolean;
}

@ObjectType({ description: "A page of runs, newest first; pass pageInfo.endCursor as `after` for the next" })
export class RunConnection {
  @Field(() => [Run])
  nodes!: Run[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
