// Prisma rows -> the plain records of types.ts.
import { parseTrainConfig, trainConfigSchema, type TrainConfig, type TrainConfigInput } from "../../engine/config.js";
import type { Checkpoint, Run, Sample } from "./generated/client.js";
import type { CheckpointRecord, RunRecord, SampleRecord } from "./types.js";

export function toRun({ config, ...row }: Run): RunRecord {
  return { ...row, config: storedConfig(row.id, config) };
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
