// What the store hands out: plain objects, so no Prisma type leaks past src/server/store.
import type { TrainConfig } from "../../engine/config.js";

/**
 * A run's statuses, the one list of them: the GraphQL enum is made from it, the stress
 * tool reads FINISHED_STATUSES, and prisma/schema.prisma's enum RunStatus must list the
 * same (test/schema-sources.test.ts checks it).
 */
export const RUN_STATUSES = ["QUEUED", "RUNNING", "STOPPING", "STOPPED", "COMPLETED", "FAILED", "INTERRUPTED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses after which a run trains no more unless resumed. */
export const FINISHED_STATUSES: readonly RunStatus[] = ["STOPPED", "COMPLETED", "FAILED", "INTERRUPTED"];

/** The stored kind of a sample the trainer wrote. */
export function trainerSampleKind(kind: "real" | "fixed-noise"): SampleKind {
  return kind === "real" ? "REAL" : "FIXED_NOISE";
}

/** The kinds of stored sample; as RUN_STATUSES, the GraphQL enum and prisma/schema.prisma's follow it. */
export const SAMPLE_KINDS = ["FIXED_NOISE", "REAL", "GENERATED"] as const;
export type SampleKind = (typeof SAMPLE_KINDS)[number];

export interface RunRecord {
  id: string;
  name: string;
  status: RunStatus;
  config: TrainConfig;
  /** What the worker reports once its backend and dataset are open. */
  backend: string | null;
  backendDetail: string | null;
  dataset: string | null;
  totalIterations: number | null;
  batchesPerEpoch: number | null;
  createdAt: Date;
  /** When the run last joined the queue (created, or resumed): the queue's order. */
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Progress as of the last stored metrics batch. */
  iteration: number;
  epoch: number;
  error: string | null;
  /** The run this one was forked from (forkRun); null when it was not, or that run is deleted. */
  parentRunId: string | null;
  /** The parent's iteration it was forked at: its own iterations are numbered after it. */
  forkIteration: number | null;
  /** Checkpoint retention (runs/retention.ts): keep the newest keepLast, and those at multiples of keepEvery; 0: no such rule. */
  keepLast: number;
  keepEvery: number;
  /** The sweep (startSweep) this run is one combination of; null when it is none's. */
  sweepId: string | null;
}

export type RunPatch = Partial<Omit<RunRecord, "id" | "createdAt" | "config" | "sweepId">>;

/** A run to create: its name, validated config, and optionally its fork point and retention. */
export interface NewRun {
  name: string;
  config: TrainConfig;
  fork?: { parentRunId: string; iteration: number; epoch: number };
  keep?: { last: number; every: number };
}

/** A grid axis: a config field and the values the sweep tries, in the order given. */
export interface SweepAxis {
  field: string;
  values: number[];
}

export interface SweepRecord {
  id: string;
  name: string;
  createdAt: Date;
  grid: SweepAxis[];
  seeds: number[];
}

export interface SweepPage {
  sweeps: SweepRecord[];
  endCursor: string | null;
  hasNextPage: boolean;
}

/** Means of a run's metrics over a window of iterations (sweep tables). */
export interface WindowMeans {
  lossD: number;
  lossG: number;
  dX: number;
  dGz1: number;
  dGz2: number;
}

/** The lowest loss means of a run's whole windows, and the last whole window's index (see metrics-sql.ts). */
export interface WindowBests {
  bestLossD: number | null;
  bestLossG: number | null;
  lastWhole: number | null;
}

export interface RunPage {
  runs: RunRecord[];
  /** Pass as `after` for the next page; null when the page is empty. */
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface MetricsRange {
  /** Inclusive iteration bounds; open when absent. */
  from?: number;
  to?: number;
  /** At least 2: more rows than this are thinned to evenly spaced ones, first and last kept. */
  maxPoints?: number;
}

export interface CheckpointRecord {
  id: string;
  runId: string;
  iteration: number;
  epoch: number;
  createdAt: Date;
  bytes: number;
  /** Relative to the service's data directory. */
  path: string;
}

export interface SampleRecord {
  id: string;
  runId: string;
  iteration: number;
  epoch: number;
  kind: SampleKind;
  createdAt: Date;
  bytes: number;
  /** Relative to the service's data directory. */
  path: string;
  /** The checkpoint a GENERATED sample was rendered from. */
  checkpointId: string | null;
  /** FIXED_NOISE samples the trainer reported: how different the grid's images are (the engine's diversityScore). */
  diversity: number | null;
}

export type NewCheckpoint = Omit<CheckpointRecord, "id" | "createdAt">;
export type NewSample = Omit<SampleRecord, "id" | "createdAt" | "checkpointId" | "diversity"> & {
  checkpointId?: string | null;
  diversity?: number | null;
};


/** An update named a row that does not exist. */
export class NotFoundError extends Error {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`no ${entity} ${id}`);
    this.name = "NotFoundError";
  }
}
