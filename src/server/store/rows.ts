// Prisma rows -> the plain records of types.ts.
import { parseTrainConfig, trainConfigSchema, type TrainConfig, type TrainConfigInput } from "../../engine/config.js";
import type { Checkpoint, Run, Sample, Sweep } from "./generated/client.js";
import type { CheckpointRecord, NewRun, RunRecord, SampleRecord, SweepRecord } from "./types.js";

export function toRun({ config, ...row }: Run): RunRecord {
  return { ...row, config: storedConfig(row.id, config) };
}

/** The columns of a new run. */
export function runRow({ name, config, fork, keep }: NewRun) {
  // A fork starts where its parent's checkpoint left off.
  const forked = fork && { parentRunId: fork.parentRunId, forkIteration: fork.iteration, iteration: fork.iteration, epoch: fork.epoch };
  const retention = keep && { keepLast: keep.last, keepEvery: keep.every };
  return { name, config: JSON.stringify(config), ...forked, ...retention };
}

export function toSweep({ grid, seeds, ...row }: Sweep): SweepRecord {
  return { ...row, grid: JSON.parse(grid) as SweepRecord["grid"], seeds: JSON.parse(seeds) as number[] };
}

/** The settings today's config has. */
const SETTINGS = new Set(Object.keys(trainConfigSchema.shape));

/**
 * A run's stored config through today's config schema: a row written before a setting
 * existed gets that setting's default, as a new run would, and a setting since removed
 * is dropped. A stored value today's schema refuses makes the row unreadable: an error
 * naming the run.
 */
export function storedConfig(runId: string, json: string): TrainConfig {
  const stored = Object.entries(JSON.parse(json) as Record<string, unknown>).filter(([key]) => SETTINGS.has(key));
  try {
    return parseTrainConfig(Object.fromEntries(stored) as TrainConfigInput);
  } catch (err) {
    throw new Error(`run ${runId}: its stored config is not valid today: ${(err as Error).message}`, { cause: err });
  }
}

// Byte counts are BigInt columns (checkpoints can pass 2 GiB) but stay far below 2^53.
export function toCheckpoint(row: Checkpoint): CheckpointRecord {
  return { ...row, bytes: Number(row.bytes) };
}

export function toSample(row: Sample): SampleRecord {
  return { ...row, bytes: Number(row.bytes) };
}
