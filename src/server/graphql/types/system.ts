import { Field, Float, ID, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "One TensorFlow.js backend and whether it works on this server" })
export class BackendStatus {
  @Field(() => String)
  name!: string;

  @Field(() => Boolean)
  available!: boolean;

  @Field(() => String, { description: "What it runs on, or why it is unavailable" })
  detail!: string;

  @Field(() => Boolean, { description: "Whether a run's threads setting reaches its CPU kernels" })
  threaded!: boolean;
}

@ObjectType()
export class SystemInfo {
  @Field(() => String)
  version!: string;

  @Field(() => [BackendStatus], { description: "Every backend in AUTO's order of preference" })
  backends!: BackendStatus[];

  @Field(() => [String], { description: "Datasets a run can use here" })
  datasets!: string[];

  @Field(() => Int)
  maxConcurrentRuns!: number;

  @Field(() => [ID])
  runningRunIds!: string[];

  @Field(() => [ID])
  queuedRunIds!: string[];

  @Field(() => Float, { description: "Bytes of every run's stored checkpoints and samples" })
  diskBytes!: number;
}
