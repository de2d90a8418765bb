import { Extensions, Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { RunRecord, SweepRecord } from "../../store/types.js";
import { sweepStatus } from "../../sweeps/sweep-service.js";
import type { SweepTableRow } from "../../sweeps/sweep-table.js";
import { RUN_STATUSES } from "../../store/types.js";
import { RunStatus } from "../enums.js";
import { PageInfo, Run } from "./run.js";

@ObjectType({ description: "A setting a sweep varies, and the values it tries" })
export class SweepAxis {
  @Field(() => String)
  field!: string;

  @Field(() => [Float])
  values!: number[];
}

@ObjectType({ description: "A run's value of one setting" })
export class SweepParam {
  @Field(() => String, { description: "A grid setting, or seed" })
  field!: string;

  @Field(() => Float)
  value!: number;
}

@ObjectType()
export class SweepStatusCount {
  @Field(() => RunStatus)
  status!: RunStatus;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: "Means over the last `window` stored iterations" })
export class SmoothedMetrics {
  @Field(() => Float)
  lossD!: number;

  @Field(() => Float)
  lossG!: number;

  @Field(() => Float)
  dX!: number;

  @Field(() => Float)
  dGz1!: number;

  @Field(() => Float)
  dGz2!: number;
}

@ObjectType({ description: "One run of a sweep: its values and its smoothed results" })
export class SweepRow {
  @Field(() => Run)
  run!: Run;

  @Field(() => [SweepParam], { description: "Its value of each grid setting, then its seed" })
  params!: SweepParam[];

  @Field(() => SmoothedMetrics, { nullable: true, description: "Means over its last `window` iterations; null before its first" })
  final?: SmoothedMetrics;

  @Field(() => Float, { nullable: true, description: "The lowest mean Loss_D of any whole window of `window` iterations (the final mean when none is whole)" })
  bestLossD?: number;

  @Field(() => Float, { nullable: true, description: "The lowest mean Loss_G of any whole window of `window` iterations (the final mean when none is whole)" })
  bestLossG?: number;

  @Field(() => Float, { nullable: true, description: "Its newest fixed-noise grid's diversity; null before the first" })
  diversity?: number;

  static from(row: SweepTableRow): SweepRow {
    return Object.assign(new SweepRow(), {
      run: Run.from(row.run),
      params: row.params.map((p) => Object.assign(new SweepParam(), p)),
      final: row.final ? Object.assign(new SmoothedMetrics(), row.final) : undefined,
      bestLossD: row.bestLossD ?? undefined,
      bestLossG: row.bestLossG ?? undefined,
      diversity: row.diversity ?? undefined,
    });
  }
}

@ObjectType({ description: "A hyperparameter sweep (startSweep): one run per combination of its grid, for each seed" })
export class Sweep {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => RunStatus, {
    description: "Its runs': RUNNING while any trains, else STOPPING, QUEUED, FAILED, INTERRUPTED or STOPPED if any run is; COMPLETED when all are",
  })
  status!: RunStatus;

  @Field(() => [SweepAxis], { description: "The grid's settings and values, in the order runs are named by" })
  grid!: SweepAxis[];

  @Field(() => [Int])
  seeds!: number[];

  @Field(() => Int, { description: "Its runs (fewer than the grid makes when some were deleted)" })
  runCount!: number;

  @Field(() => [SweepStatusCount], { description: "How many of its runs have each status; statuses no run has are left out" })
  statusCounts!: SweepStatusCount[];

  @Field(() => [Run], { description: "In the grid's order: the first seed's runs first" })
  @Extensions({ listSize: "sweepRuns" })
  runs!: Run[];

  /** Its runs as stored, for the table. */
  records!: RunRecord[];

  static from(sweep: SweepRecord, runs: RunRecord[]): Sweep {
    const statusCounts = RUN_STATUSES.map((status) => ({ status, count: runs.filter((r) => r.status === status).length }))
      .filter((c) => c.count > 0)
      .map((c) => Object.assign(new SweepStatusCount(), c));
    return Object.assign(new Sweep(), {
      ...sweep,
      status: sweepStatus(runs),
      grid: sweep.grid.map((a) => Object.assign(new SweepAxis(), a)),
      runCount: runs.length,
      statusCounts,
      runs: runs.map(Run.from),
      records: runs,
    });
  }
}

@ObjectType({ description: "A page of sweeps, newest first; pass pageInfo.endCursor as `after` for the next" })
export class SweepConnection {
  @Field(() => [Sweep])
  nodes!: Sweep[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
