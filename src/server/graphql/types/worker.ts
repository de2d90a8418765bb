import { Field, ID, Int, ObjectType } from "type-graphql";
import type { WorkerInfo } from "../../workers/worker-registry.js";

@ObjectType({ description: "A trainer: this server when it trains its own runs, or a connected `dcgan worker`" })
export class Worker {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  host!: string;

  @Field(() => String, { description: "The backend a run with backend AUTO trains on there" })
  backend!: string;

  @Field(() => String, { description: "What that backend runs on: the GPU adapter's name, or the CPU kernels and threads" })
  adapter!: string;

  @Field(() => Int, { description: "Runs it trains at once, at most" })
  concurrency!: number;

  @Field(() => [ID], { description: "Runs it trains now" })
  runIds!: string[];

  @Field(() => Date)
  startedAt!: Date;

  @Field(() => Date, { description: "When it last said it was alive; one silent for 15 s is no longer listed" })
  lastHeartbeat!: Date;

  static from(info: WorkerInfo): Worker {
    const { backendDetail, ...rest } = info;
    return Object.assign(new Worker(), { ...rest, adapter: backendDetail });
  }
}
