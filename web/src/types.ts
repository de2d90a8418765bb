/** The shapes of the API's answers that the dashboard reads (see schema.graphql). */

export type RunStatus = "QUEUED" | "RUNNING" | "STOPPING" | "STOPPED" | "COMPLETED" | "FAILED" | "INTERRUPTED";

export const RUN_STATUSES: RunStatus[] = ["QUEUED", "RUNNING", "STOPPING", "STOPPED", "COMPLETED", "FAILED", "INTERRUPTED"];

/** Statuses from which resumeRun continues a run. */
export const RESUMABLE: RunStatus[] = ["STOPPED", "FAILED", "INTERRUPTED"];
export const STOPPABLE: RunStatus[] = ["QUEUED", "RUNNING"];
/** Statuses in which deleteRun removes a run: it must not be training. */
export const FINISHED: RunStatus[] = ["STOPPED", "COMPLETED", "FAILED", "INTERRUPTED"];

export interface Sample {
  id: string;
  kind: "FIXED_NOISE" | "REAL" | "GENERATED";
  iteration: number;
  epoch: number;
  url: string;
  createdAt: string;
}

export interface Checkpoint {
  id: string;
  iteration: number;
  epoch: number;
  bytes: number;
  createdAt: string;
  downloadUrl: string;
}

export interface RunConfig {
  backend: string;
  batchSize: number;
  beta1: number;
  channels: number | null;
  checkpointEvery: number;
  dataset: { kind: string; path: string | null };
  epochs: number;
  imageSize: number;
  iterations: number | null;
  lr: number;
  ndf: number;
  ngf: number;
  nz: number;
  sampleEvery: number;
  threads: number | null;
  seed: number;
}

/** A run as the runs list shows it. */
export interface RunSummary {
  id: string;
  name: string;
  status: RunStatus;
  backend: string | null;
  dataset: string | null;
  iteration: number;
  epoch: number;
  totalIterations: number | null;
  createdAt: string;
  error: string | null;
  config: Pick<RunConfig, "batchSize">;
  latestSample: Pick<Sample, "url" | "iteration"> | null;
}

/** A run as its own page shows it. */
export interface RunDetail extends Omit<RunSummary, "config"> {
  backendDetail: string | null;
  batchesPerEpoch: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  config: RunConfig;
  samples: Sample[];
  checkpoints: Checkpoint[];
}

export interface Metric {
  iteration: number;
  epoch: number;
  lossD: number;
  lossG: number;
  dX: number;
  dGz1: number;
  dGz2: number;
  imagesPerSecond: number;
}

export interface SystemInfo {
  backends: { name: string; available: boolean; detail: string }[];
  datasets: string[];
  maxConcurrentRuns: number;
}
