import { useEffect, useRef, useState } from "preact/hooks";
import { request, subscribe } from "../api";
import { eta, formatTime } from "../format";
import { PROGRESS, RESUME_RUN, RUN, RUN_UPDATED, STOP_RUN } from "../queries";
import { href } from "../router";
import { MetricSeries, smooth } from "../series";
import { RESUMABLE, STOPPABLE, type Metric, type RunDetail } from "../types";
import { Chart } from "./Chart";
import { ChartControls, type ChartSettings } from "./ChartControls";
import { Checkpoints } from "./Checkpoints";
import { SampleTimeline } from "./SampleTimeline";
import { StatusBadge } from "./StatusBadge";

/** History is downsampled by the server to this many points; live ones are appended. */
const HISTORY_POINTS = 2000;

/**
 * One run: a downsampled history, then every new iteration from runProgress (after
 * the last one loaded, so there is neither a gap nor a duplicate), redrawn at most
 * once per animation frame.
 */
function useRunMetrics(id: string, loaded: MetricSeries | undefined): { series: MetricSeries | undefined; latest?: Metric } {
  const [, setVersion] = useState(0);
  const latest = useRef<Metric>();
  useEffect(() => {
    if (!loaded) return;
    let frame = 0;
    let end = () => {};
    const follow = () => {
      end = subscribe<{ runProgress: Metric }>(PROGRESS, { id, after: loaded.lastIteration }, {
        next: ({ runProgress }) => {
          loaded.append([runProgress]);
          latest.current = runProgress;
          frame ||= requestAnimationFrame(() => {
            frame = 0;
            setVersion((v) => v + 1);
          });
        },
        // A reader too slow for the stream (a background tab) picks up where it stopped.
        error: (err) => {
          if (err.code === "SUBSCRIBER_TOO_SLOW") follow();
        },
      });
    };
    follow();
    return () => {
      end();
      cancelAnimationFrame(frame);
    };
  }, [id, loaded]);
  return { series: loaded, latest: latest.current };
}

export function RunPage({ id }: { id: string }) {
  const [run, setRun] = useState<RunDetail>();
  const [loaded, setLoaded] = useState<MetricSeries>();
  const [error, setError] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  const [settings, setSettings] = useState<ChartSettings>({ smoothing: 0.6, log: false });

  useEffect(() => {
    setRun(undefined);
    setLoaded(undefined);
    request<{ run: (RunDetail & { metrics: Metric[] }) | null }>(RUN, { id, maxPoints: HISTORY_POINTS })
      .then(({ run: found }) => {
        if (!found) return setError(`There is no run ${id}.`);
        const series = new MetricSeries();
        series.append(found.metrics);
        setRun(found);
        setLoaded(series);
      })
      .catch((err: Error) => setError(err.message));
    return subscribe<{ runUpdated: RunDetail }>(RUN_UPDATED, { id }, { next: ({ runUpdated }) => setRun(runUpdated) });
  }, [id]);

  const { series, latest } = useRunMetrics(id, loaded);
  if (error) return <p class="error">{error}</p>;
  if (!run || !series) return <p class="empty">Loading…</p>;

  const act = async (mutation: string, variables: Record<string, unknown>) => {
    setActionError(undefined);
    try {
      await request(mutation, variables);
    } catch (err) {
      setActionError((err as Error).message);
    }
  };
  const iteration = Math.max(run.iteration, series.lastIteration);
  const x = series.iterations;
  const values = (key: keyof MetricSeries["columns"]) => smooth(series.columns[key], settings.smoothing);

  return (
    <section class="run" data-run-id={run.id}>
      <div class="toolbar">
        <h1>{run.name}</h1>
        <StatusBadge status={run.status} />
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
      </div>
      {actionError && <p class="error">{actionError}</p>}
      {run.error && <p class="error">{run.error}</p>}
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
        <dd>{run.dataset ?? run.config.dataset.kind.toLowerCase()}</dd>
        <dt>started</dt>
        <dd>{formatTime(run.startedAt)}</dd>
      </dl>
      <ChartControls settings={settings} onChange={setSettings} />
      <div class="charts">
        <div id="loss-chart">
          <Chart
            title="Generator and discriminator loss"
            x={x}
            log={settings.log}
            series={[
              { label: "Loss_D", values: values("lossD"), color: "#1f77b4" },
              { label: "Loss_G", values: values("lossG"), color: "#ff7f0e" },
            ]}
          />
        </div>
        <div id="d-chart">
          <Chart
            title="Discriminator outputs"
            x={x}
            log={settings.log}
            series={[
              { label: "D(x)", values: values("dX"), color: "#2ca02c" },
              { label: "D(G(z)) before D step", values: values("dGz1"), color: "#d62728" },
              { label: "D(G(z)) after D step", values: values("dGz2"), color: "#9467bd", dash: [6, 4] },
            ]}
          />
        </div>
      </div>
      <h2>Samples</h2>
      <SampleTimeline samples={run.samples} />
      <h2>Checkpoints</h2>
      <Checkpoints checkpoints={run.checkpoints} />
      <h2>Configuration</h2>
      <ConfigTable run={run} />
      <p>
        <a href={href.runs()}>All runs</a>
      </p>
    </section>
  );
}

function ConfigTable({ run }: { run: RunDetail }) {
  const { dataset, ...rest } = run.config;
  const rows: [string, string][] = [
    ["dataset", `${dataset.kind.toLowerCase()}${dataset.path ? ` (${dataset.path})` : ""}`],
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
