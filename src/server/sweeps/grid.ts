// A sweep's grid: which config fields it may vary, and the runs a grid and seeds make.
import type { TrainConfigInput } from "../../engine/config.js";
import { InputError } from "../input-error.js";
import type { SweepAxis } from "../store/types.js";

/**
 * The config fields a grid may vary, in the order runs are named by, each with its
 * GraphQL scalar: the one list of them (SweepGridInput is made from it). The seed is
 * swept by `seeds`; the shapes here are free, as every run starts from scratch.
 */
export const SWEEP_AXES = { lr: "Float", beta1: "Float", batchSize: "Int", nz: "Int", ngf: "Int", ndf: "Int", imageSize: "Int" } as const;
export type SweepAxisField = keyof typeof SWEEP_AXES;
export type SweepGrid = Partial<Record<SweepAxisField, readonly number[] | null>>;

/** One run of a sweep: a value of each axis, and a seed. */
export interface SweepPoint {
  values: Partial<Record<SweepAxisField, number>>;
  seed: number;
}

/** The grid's axes that have values, in SWEEP_AXES's order. */
export function gridAxes(grid: SweepGrid): SweepAxis[] {
  return (Object.keys(SWEEP_AXES) as SweepAxisField[]).flatMap((field) => {
    const values = grid[field];
    return values === undefined || values === null ? [] : [{ field, values: [...values] }];
  });
}

/** What is wrong with the axes and seeds as lists: empty, repeated, or more runs than `maxRuns`. */
export function gridErrors(axes: SweepAxis[], seeds: readonly number[], maxRuns: number, maxRunsSetting: string): InputError[] {
  const errors: InputError[] = [];
  const checkList = (field: string, values: readonly number[]) => {
    if (values.length === 0) errors.push(new InputError(field, "give at least one value, or leave it out"));
    const repeated = values.find((v, i) => values.indexOf(v) !== i);
    if (repeated !== undefined) errors.push(new InputError(field, `${repeated} is given twice`));
  };
  for (const axis of axes) checkList(`grid.${axis.field}`, axis.values);
  checkList("seeds", seeds);
  // A product, not an enumeration: a grid of billions is refused without being built.
  const runs = axes.reduce((n, a) => n * a.values.length, seeds.length);
  if (runs > maxRuns) errors.push(new InputError("grid", `makes ${runs} runs, more than ${maxRuns} (${maxRunsSetting})`));
  return errors;
}

/**
 * Every combination of the axes' values, for each seed in turn: the first seed's runs
 * come first, so that a whole table of the grid exists early. Within a seed the last
 * axis varies fastest.
 */
export function gridPoints(axes: SweepAxis[], seeds: readonly number[]): SweepPoint[] {
  const combinations = axes.reduce<SweepPoint["values"][]>(
    (partial, axis) => partial.flatMap((values) => axis.values.map((v) => ({ ...values, [axis.field]: v }))),
    [{}],
  );
  return seeds.flatMap((seed) => combinations.map((values) => ({ values, seed })));
}

/** The config of a point: the base's, with the point's values and seed. */
export function pointConfig(base: TrainConfigInput, point: SweepPoint): TrainConfigInput {
  return { ...base, ...point.values, seed: point.seed };
}

/** A run's name in its sweep: the sweep's, then its values, e.g. "lr sweep lr=0.001 seed=2". */
export function pointName(sweepName: string, point: SweepPoint): string {
  const values = Object.entries(point.values).map(([field, value]) => `${field}=${value}`);
  return [sweepName, ...values, `seed=${point.seed}`].join(" ");
}

/** A run's values on the sweep's axes, and its seed: what its row in the table shows. */
export function runPoint(axes: SweepAxis[], config: Record<string, unknown>): { field: string; value: number }[] {
  return [...axes.map(({ field }) => ({ field, value: config[field] as number })), { field: "seed", value: config.seed as number }];
}
