/**
 * The shapes of the API's answers that the dashboard reads: each the generated type of
 * the query that asks for it (schema-types.ts, written by `npm run schema` from the
 * server's schema and queries.ts), so a field the schema drops or changes fails the
 * typecheck where the dashboard reads it.
 */
import {
  type ProgressSubscription,
  type RunStatus,
  RunStatusValues,
  type RunsUpdatedSubscription,
  type RunUpdatedSubscription,
  type SweepQuery,
  type SweepsQuery,
  type SystemQuery,
} from "./schema-types";

export type { RunStatus };

/** In the server's order: the lifecycle. */
export const RUN_STATUSES: readonly RunStatus[] = RunStatusValues;

/** Statuses from which resumeRun continues a run. */
export const RESUMABLE: readonly RunStatus[] = ["STOPPED", "FAILED", "INTERRUPTED"];
export const STOPPABLE: readonly RunStatus[] = ["QUEUED", "RUNNING"];
/** Statuses in which deleteRun removes a run: it must not be training. */
export const FINISHED: readonly RunStatus[] = ["STOPPED", "COMPLETED", "FAILED", "INTERRUPTED"];

/** A run as the runs list shows it (RUNS and RUNS_UPDATED select the same fields). */
export type RunSummary = RunsUpdatedSubscription["runUpdated"];

/** A run as its own page shows it (RUN adds its metrics). */
export type RunDetail = RunUpdatedSubscription["runUpdated"];

export type RunConfig = RunDetail["config"];
export type Sample = RunDetail["samples"][number];
export type Checkpoint = RunDetail["checkpoints"][number];

/** One iteration's metrics (every query for them selects METRIC_FIELDS). */
export type Metric = ProgressSubscription["runProgress"];

export type SystemInfo = SystemQuery["system"];

/** Statuses of a run that is not done: a sweep with such runs still changes, and its pages poll. */
export const ACTIVE: readonly RunStatus[] = ["QUEUED", "RUNNING", "STOPPING"];

/** A sweep as the sweeps list shows it. */
export type SweepSummary = SweepsQuery["sweeps"]["nodes"][number];

/** A sweep as its own page shows it, with its table. */
export type SweepDetail = NonNullable<SweepQuery["sweep"]>;
export type SweepRow = SweepDetail["table"][number];
