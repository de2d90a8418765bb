import { useEffect, useState } from "preact/hooks";
import { ApiError, request, subscribe } from "../api";
import { eta, formatBytes } from "../format";
import { useLatestProgress } from "../live";
import { DISK_USAGE, RUNS, RUNS_UPDATED } from "../queries";
import { href } from "../router";
import type { DiskUsageQuery, RunsQuery, RunsQueryVariables, RunsUpdatedSubscription } from "../schema-types";
import { RUN_STATUSES, type RunStatus, type RunSummary } from "../types";
import { CollapseBadge } from "./Diversity";
import { StatusBadge } from "./StatusBadge";
import { Workers } from "./Workers";

/** Every run, newest first, live: status changes and new runs arrive by runUpdated, iterations by runProgress. */
export function RunsList() {
  const [status, setStatus] = useState<RunStatus | "">("");
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState<string[]>([]);
  const [diskBytes, setDiskBytes] = useState<number>();
  // Checkpoints and samples landing (and retention deleting) come as runUpdated: the total follows them.
  const loadDisk = () => void request<DiskUsageQuery>(DISK_USAGE).then(({ system }) => setDiskBytes(system.diskBytes), () => undefined);

  const load = async (after: string | null) => {
    try {
      const { runs: page } = await request<RunsQuery, RunsQueryVariables>(RUNS, { status: status || null, after });
      setRuns((current) => (after ? [...current, ...page.nodes] : page.nodes));
      setNext(page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null);
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  useEffect(() => {
    void load(null);
    loadDisk();
    return subscribe<RunsUpdatedSubscription>(RUNS_UPDATED, {}, {
      next: ({ runUpdated: run }) => {
        loadDisk();
        setRuns((current) => {
          const matches = !status || run.status === status;
          const index = current.findIndex((r) => r.id === run.id);
          if (index === -1) return matches ? [run, ...current] : current;
          return matches ? current.map((r) => (r.id === run.id ? run : r)) : current.filter((r) => r.id !== run.id);
        });
      },
      error: (err: ApiError) => setError(err.message),
    });
  }, [status]);

  const latest = useLatestProgress(runs.filter((r) => r.status === "RUNNING").map((r) => r.id));
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  return (
    <section>
      <div class="toolbar">
        <h1>Runs</h1>
        {diskBytes !== undefined && (
          <span class="small" id="disk-usage" title="every run's stored checkpoints and samples">
            {formatBytes(diskBytes)} on disk
          </span>
        )}
        <label>
          Status{" "}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value as RunStatus | "")} name="status-filter">
            <option value="">all</option>
            {RUN_STATUSES.map((s) => (
              <option value={s}>{s.toLowerCase()}</option>
            ))}
          </select>
        </label>
        <a class={`button${selected.length < 2 ? " disabled" : ""}`} href={selected.length >= 2 ? href.compare(selected) : undefined} id="compare-selected">
          Compare {selected.length > 0 ? `(${selected.length})` : ""}
        </a>
        <a class="button primary" href={href.newRun()}>
          New run
        </a>
      </div>
      {error && <p class="error">{error}</p>}
      {runs.length === 0 && !error ? (
        <p class="empty">
          No runs yet. <a href={href.newRun()}>Start one</a>: the defaults are the PyTorch tutorial's.
        </p>
      ) : (
        <table class="runs">
          <thead>
            <tr>
              <th title="select runs to compare" />
              <th>latest sample</th>
              <th>name</th>
              <th>status</th>
              <th>backend</th>
              <th>dataset</th>
              <th>iteration</th>
              <th>epoch</th>
              <th>images/s</th>
              <th>ETA</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => {
              const live = latest[run.id];
              const iteration = Math.max(run.iteration, live?.iteration ?? 0);
              return (
                <tr key={run.id} data-run-id={run.id}>
                  <td>
                    <input type="checkbox" checked={selected.includes(run.id)} onChange={() => toggle(run.id)} aria-label={`select ${run.name}`} />
                  </td>
                  <td>{run.latestSample ? <img class="thumb" src={run.latestSample.url} alt={`iteration ${run.latestSample.iteration}`} /> : null}</td>
                  <td>
                    <a href={href.run(run.id)}>{run.name}</a>
                    {run.error && <div class="error small">{run.error}</div>}
                  </td>
                  <td>
                    <StatusBadge status={run.status} /> <CollapseBadge run={run} />
                  </td>
                  <td>{run.backend ?? "–"}</td>
                  <td class="dataset" title={run.dataset ?? undefined}>
                    {run.dataset ?? "–"}
                  </td>
                  <td class="num">
                    {iteration}
                    {run.totalIterations ? ` / ${run.totalIterations}` : ""}
                  </td>
                  <td class="num">{live?.epoch ?? run.epoch}</td>
                  <td class="num">{live ? live.imagesPerSecond.toFixed(1) : "–"}</td>
                  <td class="num">{run.status === "RUNNING" ? eta(iteration, run.totalIterations, run.config.batchSize, live?.imagesPerSecond) : "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {next && (
        <button onClick={() => void load(next)} class="button">
          More runs
        </button>
      )}
      <Workers names={Object.fromEntries(runs.map((run) => [run.id, run.name]))} />
    </section>
  );
}
