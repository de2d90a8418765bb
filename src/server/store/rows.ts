// Prisma rows -> the plain records of types.ts.
import type { TrainConfig } from "../../engine/config.js";
import type { Checkpoint, Run, Sample } from "./generated/client.js";
import type { CheckpointRecord, RunRecord, SampleRecord } from "./types.js";

export function toRun({ config, ...row }: Run): RunRecord {
  // Written by createRun from an already validated TrainConfig.
  return { ...row, config: JSON.parse(config) as TrainConfig };
}

// Byte counts are BigInt columns (checkpoints can pass 2 GiB) but stay far below 2^53.
export function toCheckpoint(row: Checkpoint): CheckpointRecord {
  return { ...row, bytes: Number(row.bytes) };
}

export function toSample(row: Sample): SampleRecord {
  return { ...row, bytes: Number(row.bytes) };
}
