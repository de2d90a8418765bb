import type { Store } from "../store/store.js";
import type { CheckpointRecord, RunRecord } from "../store/types.js";

/**
 * The checkpoint a run continues from when none is named: its newest one that the stored
 * metrics reach (run.iteration). A trainer that died can leave checkpoints on disk past
 * its last stored metrics batch, which the next start records (unrecorded-files.ts);
 * continuing from one of those would leave the iterations before it missing for good.
 * Continuing from an earlier one trains them again, with the same results.
 */
export async function latestResumePoint(store: Store, run: RunRecord, createdSince?: Date): Promise<CheckpointRecord | undefined> {
  const checkpoints = await store.listCheckpoints(run.id);
  const own = checkpoints.filter((c) => c.iteration <= run.iteration && (createdSince === undefined || c.createdAt >= createdSince)).at(-1);
  if (own || createdSince !== undefined || run.parentRunId === null || run.forkIteration === null) return own;
  // A fork that has written no checkpoint of its own yet starts again from its parent's.
  return (await store.listCheckpoints(run.parentRunId)).filter((c) => c.iteration === run.forkIteration).at(-1);
}
