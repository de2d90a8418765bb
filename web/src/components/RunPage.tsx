import { useEffect, useMemo, useState } from "preact/hooks";
import { request, subscribe } from "../api";
import { enumLabel, eta, formatBytes, formatTime } from "../format";
import { useLiveSeries } from "../live";
import { DELETE_RUN, PARENT_METRICS, RESUME_RUN, RUN, RUN_UPDATED, STOP_RUN } from "../queries";
import { href } from "../router";
import { MetricSeries, smooth } from "../series";
import type { ParentMetricsQuery, ParentMetricsQueryVariables, RunQuery, RunQueryVariables, RunUpdatedSubscription, RunUpdatedSubscriptionVariables } from "../schema-types";
import { FINISHED, RESUMABLE, STOPPABLE, type Checkpoint, type RunDetail } from "../types";
import { useZoom } from "../zoom";
import { Chart, type ChartSeries } from "./Chart";
import { ChartControls, type ChartSettings } from "./ChartControls";
import { Checkpoints } from "./Checkpoints";
import { CollapseBadge, DiversityChart } from "./Diversity";
import { ForkForm } from "./ForkForm";
import { SampleTimeline } from "./SampleTimeline";
import { StatusBadge } from "./StatusBadge";

/** History is downsampled by the server to this many points; live ones are appended (useLiveSeries). */
const HISTORY_POINTS = 2000;

export function RunPage({ id }: { id: string }) {
  const [run, setRun] = useState<RunDetail>();
  const [series, setSeries] = useState<MetricSeries>();
  const [error, setError] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  const [settings, setSettings] = useState<ChartSettings>({ smoothing: 0.6, log: false });
  const [forking, setForking] = useState<Checkpoint>();
  // A forked run's parent's history up to the fork, drawn dimmed before the run's own.
  const [parentSeries, setParentSeries] = useState<MetricSeries>();
  const parentId = run?.parent?.id;
  const forkIteration = run?.forkIteration;

  useEffect(() => {
    setRun(undefined);
    setSeries(undefined);
    request<RunQuery, RunQueryVariables>(RUN, { id, maxPoints: HISTORY_POINTS })
      .then(({ run: found }) => {
        if (!found) return setError(`There is no run ${id}.`);
        const history = new MetricSeries();
        history.append(found.metrics);
        setRun(found);
        setSeries(history);
      })
      .catch((err: Error) => setError(err.message));
    return subscribe<RunUpdatedSubscription, RunUpdatedSubscriptionVariables>(RUN_UPDATED, { id }, { next: ({ runUpdated }) => setRun(runUpdated) });
  }, [id]);

  useEffect(() => {
    setParentSeries(undefined);
    setForking(undefined);
    if (!parentId || forkIteration === null || forkIteration === undefined) return;
    request<ParentMetricsQuery, ParentMetricsQueryVariables>(PARENT_METRICS, { id: parentId, to: forkIteration, maxPoints: HISTORY_POINTS })
      .then(({ run: parent }) => {
        const history = new MetricSeries();
        history.append(parent?.metrics ?? []);
        setParentSeries(history);
      })
      .catch(() => undefined);
  }, [id, parentId, forkIteration]);

  const followed = useMemo(() => (series ? [{ id, series }] : undefined), [id, series]);
  const latest = useLiveSeries(followed)[id];
  // Zoomed: that range at full resolution; live iterations keep going into `series`, for the full view.
  const zoom = useZoom([id]);
  if (error) return <p class="error">{error}</p>;
  if (!run || !series) return <p class="empty">Loading…</p>;

  const act = async (mutation: string, variables: Record<string, unknown>): Promise<boolean> => {
    setActionError(undefined);
    try {
      await request(mutation, variables);
      return true;
    } catch (err) {
      setActionError((err as Error).message);
      return false;
    }
  };
  const remove = async () => {
    if (!confirm(`Delete run "${run.name}" with its metrics, samples and checkpoints? This cannot be undone.`)) return;
    if (await act(DELETE_RUN, { id })) location.hash = href.runs();
  };
  const iteration = Math.max(run.iteration, series.lastIteration);
  const shown = zoom.series?.[id] ?? series;
  // A fork's own points follow its parent's (all at or before the fork): one x axis, each series null where it has no point.
  const before = parentSeries?.iterations ?? [];
  const x = [...before, ...shown.iterations];
  const own = (values: (number | null)[]) => [...before.map(() => null), ...values];
  const values = (key: keyof MetricSeries["columns"]) => own(smooth(shown.columns[key], settings.smoothing));
  /** The run's series, preceded by the parent's part dimmed (lighter and dashed), when it is a fork. */
  const withParent = (series: (ChartSeries & { key: keyof MetricSeries["columns"] })[]): ChartSeries[] => [
    ...(parentSeries
      ? series.map(({ key, label, color }) => ({
          label: `${label} (parent)`,
          values: [...smooth(parentSeries.columns[key], settings.smoothing), ...shown.iterations.map(() => null)],
          color: `${color}66`,
          dash: [4, 4],
        }))
      : []),
    ...series.map(({ key: _key, ...s }) => s),
  ];

  return (
    <section class="run" data-run-id={run.id}>
      <div class="toolbar">
        <h1>{run.name}</h1>
        <StatusBadge status={run.status} />
        <CollapseBadge run={run} />
        <button class="button" id="stop-run" disabled={!STOPPABLE.includes(run.status)} onClick={() => void act(STOP_RUN, { id })}>
          Stop
        </button>
        <button
          class="button"
          id="resume-run"
          disabled={!RESUMABLE.includes(run.status) || run.checkpoints.length === 0}
          title={run.checkpoints.length === 0 ? "a run resumes from a checkpoint; this one has none" : "continue from the latest checkpoint"}
          onClick={() => void act(RESUME_RUN, { id })}
        >
          Resume
        </button>
        <a class="button" href={`/files/metrics/${encodeURIComponent(run.id)}.csv`} download>
          Metrics CSV
        </a>
        <button class="button danger" id="delete-run" disabled={!FINISHED.includes(run.status)} title="only a run that is not training can be deleted" onClick={() => void remove()}>
          Delete
        </button>
      </div>
      {actionError && <p class="error">{actionError}</p>}
      {run.error && <p class="error">{run.error}</p>}
      {run.collapseWarning && <p class="collapse-warning-text">Warning: {run.collapseWarning}.</p>}
      {run.sweep && (
        <p class="sweep-of">
          <a id="run-sweep" href={href.sweep(run.sweep.id)} title="the hyperparameter sweep this run is one combination of">
            sweep: {run.sweep.name}
          </a>
        </p>
      )}
      {run.forkIteration !== null && (
        <p class="fork-of" id="fork-of">
          Forked at iteration {run.forkIteration} from{" "}
          {run.parent ? <a href={href.run(run.parent.id)}>{run.parent.name}</a> : "a deleted run"}
          {parentSeries ? "; the charts show its history up to there, dimmed." : "."}
        </p>
      )}
      <dl class="facts">
        <dt>iteration</dt>
        <dd id="run-iteration">
          {iteration}
          {run.totalIterations ? ` / ${run.totalIterations}` : ""}
        </dd>
        <dt>epoch</dt>
        <dd>{latest?.epoch ?? run.epoch}</dd>
        <dt>images/s</dt>
        <dd>{latest && run.status === "RUNNING" ? latest.imagesPerSecond.toFixed(1) : "–"}</dd>
        <dt>ETA</dt>
        <dd>{run.status === "RUNNING" ? eta(iteration, run.totalIterations, run.config.batchSize, latest?.imagesPerSecond) : "–"}</dd>
        <dt>backend</dt>
        <dd title={run.backendDetail ?? undefined}>{run.backend ?? "–"}</dd>
        <dt>dataset</dt>
        <dd>{run.dataset ?? enumLabel(run.config.dataset.kind)}</dd>
        <dt>started</dt>
        <dd>{formatTime(run.startedAt)}</dd>
        <dt>disk</dt>
        <dd id="run-disk" title="its stored checkpoints and samples">{formatBytes(run.diskBytes)}</dd>
      </dl>
      <ChartControls settings={settings} onChange={setSettings} zoom={zoom} />
      <div class="charts">
        <div id="loss-chart">
          <Chart
            title="Generator and discriminator loss"
            x={x}
            zoom={zoom}
            log={settings.log}
            series={withParent([
              { key: "lossD", label: "Loss_D", values: values("lossD"), color: "#1f77b4" },
              { key: "lossG", label: "Loss_G", values: values("lossG"), color: "#ff7f0e" },
            ])}
          />
        </div>
        <div id="d-chart">
          <Chart
            title="Discriminator outputs"
            x={x}
            zoom={zoom}
            log={settings.log}
            series={withParent([
              { key: "dX", label: "D(x)", values: values("dX"), color: "#2ca02c" },
              { key: "dGz1", label: "D(G(z)) before D step", values: values("dGz1"), color: "#d62728" },
              { key: "dGz2", label: "D(G(z)) after D step", values: values("dGz2"), color: "#9467bd", dash: [6, 4] },
            ])}
          />
        </div>
      </div>
      <h2>Samples</h2>
      <DiversityChart samples={run.samples} />
      <SampleTimeline samples={run.samples} />
      <h2>Checkpoints</h2>
      <Checkpoints checkpoints={run.checkpoints} onFork={setForking} />
      {forking && <ForkForm key={forking.id} run={run} checkpoint={forking} onClose={() => setForking(undefined)} />}
      <h2>Configuration</h2>
      <ConfigTable run={run} />
      <p>
        <a href={href.runs()}>All runs</a>
      </p>
    </section>
  );
}

function ConfigTable({ run }: { run: RunDetail }) {
  const { dataset, backend, ...rest } = run.config;
  const rows: [string, string][] = [
    ["dataset", `${enumLabel(dataset.kind)}${dataset.path ? ` (${dataset.path})` : ""}`],
    ["backend", enumLabel(backend)],
    ...Object.entries(rest).map(([key, value]): [string, string] => [key, value === null ? "–" : String(value)]),
    ["id", run.id],
    ["created", formatTime(run.createdAt)],
    ["finished", formatTime(run.finishedAt)],
  ];
  return (
    <table class="config">
      <tbody>
        {rows.map(([key, value]) => (
          <tr key={key}>
            <th>{key}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
