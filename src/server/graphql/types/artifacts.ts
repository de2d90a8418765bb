import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { CheckpointRecord, SampleRecord } from "../../store/types.js";
import { SampleKind } from "../enums.js";

/** What checkpoints and samples share: where in the run they were made. */
@ObjectType()
abstract class RunArtifact {
  @Field(() => ID)
  id!: string;

  @Field(() => Int)
  iteration!: number;

  @Field(() => Int)
  epoch!: number;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType({ description: "Everything needed to continue a run exactly: weights, optimizer states, RNG" })
export class Checkpoint extends RunArtifact {
  @Field(() => Int)
  bytes!: number;

  @Field(() => String, { description: "Where this server serves the checkpoint file" })
  downloadUrl!: string;

  static from(record: CheckpointRecord): Checkpoint {
    return Object.assign(new Checkpoint(), record, { downloadUrl: `/files/checkpoints/${record.id}` });
  }
}

@ObjectType({ description: "A PNG grid of images, 8 per row like torchvision's make_grid" })
export class Sample extends RunArtifact {
  @Field(() => SampleKind)
  kind!: SampleKind;

  @Field(() => String, { description: "Where this server serves the PNG" })
  url!: string;

  @Field(() => Float, {
    nullable: true,
    description: "FIXED_NOISE grids: how different its images are from each other, 1 - their mean pairwise SSIM (0: all alike)",
  })
  diversity?: number | null;

  static from(record: SampleRecord): Sample {
    return Object.assign(new Sample(), record, { url: `/files/samples/${record.id}.png` });
  }
}
