import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { ProgressEvent } from "../../events/run-events.js";

// Plain properties: graphql-js's default resolvers, without type-graphql's per-field
// wrapper, which cost more than the rest of a metrics query or a progress event.
@ObjectType({ description: "One training iteration, as the tutorial logs it", simpleResolvers: true })
export class IterationMetrics {
  @Field(() => ID)
  runId!: string;

  @Field(() => Int, { description: "Iterations completed, counting this one (1-based)" })
  iteration!: number;

  @Field(() => Int, { description: "0-based epoch" })
  epoch!: number;

  @Field(() => Int, { description: "0-based batch within the epoch" })
  batch!: number;

  @Field(() => Float, { description: "Loss_D = errD_real + errD_fake" })
  lossD!: number;

  @Field(() => Float, { description: "Loss_G: BCE of D(G(z)) against the real label, in G's step" })
  lossG!: number;

  @Field(() => Float, { description: "D(x): mean output of D on the real batch" })
  dX!: number;

  @Field(() => Float, { description: "D(G(z)) before D's step (D_G_z1), on the detached fakes" })
  dGz1!: number;

  @Field(() => Float, { description: "D(G(z)) after D's step (D_G_z2), in G's step" })
  dGz2!: number;

  @Field(() => Float, { description: "errD_real: BCE of D(x) against the real label" })
  errDReal!: number;

  @Field(() => Float, { description: "errD_fake: BCE of D(G(z)) against the fake label" })
  errDFake!: number;

  @Field(() => Float, { description: "Throughput of this iteration" })
  imagesPerSecond!: number;

  @Field(() => Date, { description: "When the iteration finished" })
  timestamp!: Date;

  static from(event: ProgressEvent): IterationMetrics {
    return Object.assign(new IterationMetrics(), event, { timestamp: new Date(event.timestamp) });
  }
}
