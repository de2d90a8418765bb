import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { InputError } from "../input-error.js";
import type { Store } from "../store/store.js";
import type { CheckpointRecord, RunRecord } from "../store/types.js";

/**
 * A run's checkpoint retention: keep the newest `last` checkpoints, and also those whose
 * iteration is a multiple of `every`; 0 is no such rule, and with neither rule every
 * checkpoint stays.
 */
export interface KeepCheckpoints {
  last: number;
  every: number;
}

/** Keep everything: the default unless KEEP_CHECKPOINTS says otherwise. */
export const KEEP_ALL: KeepCheckpoints = { last: 0, every: 0 };

/** Refuses a policy whose rules are not whole numbers >= 0, naming the field. */
export function validateKeepCheckpoints(keep: Partial<KeepCheckpoints>, field = "keepCheckpoints"): KeepCheckpoints {
  for (const rule of ["last", "every"] as const) {
    const value = keep[rule];
    if (value !== undefined && value !== null && (!Number.isInteger(value) || value < 0)) {
      throw new InputError(`${field}.${rule}`, "must be a whole number, 0 or more (0: no such rule)");
    }
  }
  return { last: keep.last ?? 0, every: keep.every ?? 0 };
}

/** KEEP_CHECKPOINTS / --keep-checkpoints: "last=5,every=1000", either part optional; "" or "all" keeps every checkpoint. */
export function parseKeepCheckpoints(value: string): KeepCheckpoints {
  if (value.trim() === "" || value.trim() === "all") return KEEP_ALL;
  const keep: Partial<KeepCheckpoints> = {};
  for (const part of value.split(",")) {
    const [key, number] = part.split("=").map((s) => s.trim());
    if ((key !== "last" && key !== "every") || !/^\d+$/.test(number ?? "")) {
      throw new Error(`KEEP_CHECKPOINTS: expected last=N and/or every=K, comma-separated (got "${value}")`);
    }
    keep[key] = Number(number);
  }
  return validateKeepCheckpoints(keep);
}

/**
 * Checkpoints being read now in this process (a `generate` rendering from one, a run
 * starting from one), counted so that overlapping readers each hold it. The deleter
 * skips them. Per process: across API replicas and workers each guards only its own
 * readers (a replica's generate does not hold a worker's deletion back).
 */
const reading = new Map<string, number>();

/** Marks the checkpoint read until the returned release is called. */
export function holdCheckpoint(id: string): () => void {
  reading.set(id, (reading.get(id) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (reading.get(id) ?? 1) - 1;
    if (left > 0) reading.set(id, left);
    else reading.delete(id);
  };
}

export function isCheckpointHeld(id: string): boolean {
  return reading.has(id);
}

/**
 * The checkpoints outside the policy, `checkpoints` ascending by iteration (as the store
 * lists them). "Newest" is landing order (createdAt): a run resumed from an older
 * checkpoint keeps its new ones over the abandoned ones past it. Never among them: the
 * newest, one at a fork's iteration, one held (holdCheckpoint).
 */
function checkpointsOutsidePolicy(checkpoints: CheckpointRecord[], keep: KeepCheckpoints, forkIterations: readonly number[]): CheckpointRecord[] {
  if (keep.last <= 0 && keep.every <= 0) return [];
  const byLanding = [...checkpoints].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.iteration - b.iteration);
  const newest = new Set(byLanding.slice(-Math.max(1, keep.last)).map((c) => c.id));
  return checkpoints.filter(
    (c) => !newest.has(c.id) && !(keep.every > 0 && c.iteration % keep.every === 0) && !forkIterations.includes(c.iteration) && !isCheckpointHeld(c.id),
  );
}

/**
 * Applies the run's policy once a checkpoint has landed: deletes the rows of the
 * checkpoints outside it, then their files (a file another kept row names, as a
 * checkpoint written again at the same iteration does, stays). What the run's queued
 * or running resume continues from is held (holdCheckpoint) by whoever will read it;
 * a fork's checkpoint is protected through the forks' forkIteration.
 */
export async function enforceRetention(context: { store: Store; dataDir: string; logger: Logger }, run: Pick<RunRecord, "id" | "keepLast" | "keepEvery">): Promise<CheckpointRecord[]> {
  const keep = { last: run.keepLast, every: run.keepEvery };
  if (keep.last <= 0 && keep.every <= 0) return [];
  const { store, dataDir, logger } = context;
  const checkpoints = await store.listCheckpoints(run.id);
  const doomed = checkpointsOutsidePolicy(checkpoints, keep, await store.forkIterations(run.id));
  if (doomed.length === 0) return [];
  await store.deleteCheckpoints(doomed.map((c) => c.id));
  const doomedIds = new Set(doomed.map((c) => c.id));
  const keptPaths = new Set(checkpoints.filter((c) => !doomedIds.has(c.id)).map((c) => c.path));
  for (const checkpoint of doomed) {
    if (keptPaths.has(checkpoint.path)) continue;
    await rm(resolve(dataDir, checkpoint.path), { force: true }).catch((err: unknown) => logger.warn({ err, runId: run.id, path: checkpoint.path }, "deleting a checkpoint file failed"));
  }
  logger.info({ runId: run.id, deleted: doomed.map((c) => c.iteration) }, "checkpoints deleted by retention");
  return doomed;
}
