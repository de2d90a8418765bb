// The BullMQ queue of runs: its name, its jobs, and the Redis keys workers share.
import type { RunRecord } from "../store/types.js";

/** The BullMQ queue runs wait in. */
export const RUN_QUEUE = "dcgan-runs";

/** Redis pub/sub channel of stop requests: a run's id, to whichever worker trains it. */
export const STOP_CHANNEL = "dcgan:stop-requests";

export interface RunJob {
  runId: string;
  /** The checkpoint a resumed run continues from; absent: its latest, if any. */
  checkpointId?: string;
}

/**
 * One job per time a run joins the queue (created or resumed), so a resume never
 * collides with the finished job of an earlier stint; the same admission always gives
 * the same id, so adding it twice adds it once.
 */
export function runJobId(run: Pick<RunRecord, "id" | "queuedAt">): string {
  return `${run.id}-${run.queuedAt.getTime()}`;
}

/** Settings every worker of a deployment should share: how soon a lost worker's runs move on. */
export interface StallSettings {
  /** How long a worker's hold on a run lasts unless renewed (renewed at half of it while the run trains). */
  lockMs: number;
  /** How often workers look for runs whose hold lapsed. */
  stalledIntervalMs: number;
  /** Takeovers a run gets; one more stall fails it. */
  maxStalls: number;
}

export const DEFAULT_STALL_SETTINGS: StallSettings = { lockMs: 30_000, stalledIntervalMs: 30_000, maxStalls: 2 };

/** The run a job (runJobId) trains. Run ids are cuids, which hold no "-". */
export function runIdOfJob(jobId: string): string {
  return jobId.slice(0, jobId.lastIndexOf("-"));
}
