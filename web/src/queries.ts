/** The dashboard's GraphQL documents: every view is built on the public API only. */

const SUMMARY = `id name status backend dataset iteration epoch totalIterations createdAt error
  config { batchSize } latestSample { url iteration } collapseWarning`;

const DETAIL = `id name status backend backendDetail dataset iteration epoch totalIterations batchesPerEpoch
  createdAt startedAt finishedAt error latestSample { url iteration } collapseWarning forkIteration parent { id name }
  config { backend batchSize beta1 channels checkpointEvery dataset { kind path } epochs imageSize iterations lr ndf ngf nz sampleEvery seed threads }
  samples { id kind iteration epoch url createdAt diversity }
  checkpoints { id iteration epoch bytes createdAt downloadUrl } diskBytes sweep { id name }`;

export const METRIC_FIELDS = "iteration epoch lossD lossG dX dGz1 dGz2 imagesPerSecond";

export const RUNS = `query Runs($status: RunStatus, $after: String) {
  runs(status: $status, first: 50, after: $after) { nodes { ${SUMMARY} } pageInfo { endCursor hasNextPage } }
}`;

export const RUNS_UPDATED = `subscription RunsUpdated { runUpdated { ${SUMMARY} } }`;

export const RUN = `query Run($id: ID!, $maxPoints: Int!) {
  run(id: $id) { ${DETAIL} metrics(maxPoints: $maxPoints) { ${METRIC_FIELDS} } }
}`;

export const RUN_UPDATED = `subscription RunUpdated($id: ID!) { runUpdated(runId: $id) { ${DETAIL} } }`;

export const RUN_METRICS = `query RunMetrics($id: ID!, $maxPoints: Int!) {
  run(id: $id) { id name status metrics(maxPoints: $maxPoints) { ${METRIC_FIELDS} } }
}`;

/** A forked run's parent's metrics up to the fork, drawn dimmed before the run's own. */
export const PARENT_METRICS = `query ParentMetrics($id: ID!, $to: Int!, $maxPoints: Int!) {
  run(id: $id) { id metrics(to: $to, maxPoints: $maxPoints) { ${METRIC_FIELDS} } }
}`;

/** A compared run's fixed-noise grids: its current ones, then again with each new sample. */
export const RUN_SAMPLES_UPDATED = `subscription RunSamplesUpdated($id: ID!) { runUpdated(runId: $id) { id samples { id kind iteration epoch url } } }`;

/** One run's metrics in [from, to], for a zoomed chart: at full resolution up to maxPoints iterations. */
export const METRICS_RANGE = `query MetricsRange($id: ID!, $from: Int!, $to: Int!, $maxPoints: Int!) {
  run(id: $id) { id metrics(from: $from, to: $to, maxPoints: $maxPoints) { ${METRIC_FIELDS} } }
}`;

export const PROGRESS = `subscription Progress($id: ID!, $after: Int) { runProgress(runId: $id, after: $after) { ${METRIC_FIELDS} } }`;

/** Bytes of every run's stored checkpoints and samples. */
export const DISK_USAGE = `query DiskUsage { system { diskBytes } }`;
export const SYSTEM = `query System { system { backends { name available detail } datasets maxConcurrentRuns } }`;

/** The trainers: polled as often as they heartbeat, since no subscription tells of them. */
export const WORKERS = `query Workers { workers { id host backend adapter concurrency runIds startedAt lastHeartbeat } }`;

export const START_RUN = `mutation StartRun($input: StartRunInput!) { startRun(input: $input) { id } }`;
export const STOP_RUN = `mutation StopRun($id: ID!) { stopRun(id: $id) { id status } }`;
export const RESUME_RUN = `mutation ResumeRun($id: ID!, $checkpointId: ID) { resumeRun(id: $id, checkpointId: $checkpointId) { id status } }`;
export const FORK_RUN = `mutation ForkRun($checkpointId: ID!, $changes: ForkRunInput, $name: String) {
  forkRun(checkpointId: $checkpointId, changes: $changes, name: $name) { id }
}`;
export const DELETE_RUN = `mutation DeleteRun($id: ID!) { deleteRun(id: $id) }`;
export const GENERATE = `mutation Generate($checkpointId: ID!, $seed: Int!) { generate(checkpointId: $checkpointId, seed: $seed) { id url iteration kind } }`;

/** A sweep as the sweeps list shows it: no table (Sweep.table is a heavy read, for the sweep's own page). */
const SWEEP_SUMMARY = `id name status createdAt grid { field values } seeds runCount statusCounts { status count }`;

export const SWEEPS = `query Sweeps($after: String) {
  sweeps(first: 50, after: $after) { nodes { ${SWEEP_SUMMARY} } pageInfo { endCursor hasNextPage } }
}`;

/** A sweep's page: one row per run, its values and its results smoothed over the last `window` iterations. */
export const SWEEP = `query Sweep($id: ID!, $window: Int!) {
  sweep(id: $id) {
    ${SWEEP_SUMMARY}
    table(window: $window) {
      run { id name status iteration totalIterations collapseWarning }
      params { field value }
      final { lossD lossG dX dGz1 dGz2 }
      bestLossD bestLossG diversity
    }
  }
}`;

export const START_SWEEP = `mutation StartSweep($input: StartSweepInput!) { startSweep(input: $input) { id } }`;
export const STOP_SWEEP = `mutation StopSweep($id: ID!) { stopSweep(id: $id) { id status } }`;
export const RESUME_SWEEP = `mutation ResumeSweep($id: ID!) { resumeSweep(id: $id) { id status } }`;
export const DELETE_SWEEP = `mutation DeleteSweep($id: ID!) { deleteSweep(id: $id) }`;
