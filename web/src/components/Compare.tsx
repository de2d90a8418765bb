import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { useLiveSeries } from "../live";
import { RUN_METRICS } from "../queries";
import { href } from "../router";
import { MetricSeries, smooth } from "../series";
import type { RunMetricsQuery, RunMetricsQueryVariables } from "../schema-types";
import type { RunStatus } from "../types";
import { useZoom, zoomed } from "../zoom";
import { Chart, type ChartSeries } from "./Chart";
import { ChartControls, type ChartSettings } from "./ChartControls";
import { SampleCompare } from "./SampleCompare";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
const POINTS_PER_RUN = 2000;

interface ComparedRun {
  id: string;
  name: string;
  status: RunStatus;
  series: MetricSeries;
}

/**
 * Runs aligned by iteration on one x axis: the union of their iterations, each run's
 * values null where it has no point (uPlot bridges the gaps).
 */
function alignByIteration(runs: ComparedRun[]): { x: number[]; column(run: ComparedRun, values: number[]): (number | null)[] } {
  const x = [...new Set(runs.flatMap((r) => r.series.iterations))].sort((a, b) => a - b);
  const position = new Map(x.map((iteration, i) => [iteration, i]));
  return {
    x,
    column: (run, values) => {
      const column = new Array<number | null>(x.length).fill(null);
      run.series.iterations.forEach((iteration, i) => (column[position.get(iteration)!] = values[i]!));
      return column;
    },
  };
}

export function Compare({ ids }: { ids: string[] }) {
  const [runs, setRuns] = useState<ComparedRun[]>();
  const [error, setError] = useState<string>();
  const [settings, setSettings] = useState<ChartSettings>({ smoothing: 0.6, log: false });

  useEffect(() => {
    Promise.all(
      ids.map(async (id) => {
        const { run } = await request<RunMetricsQuery, RunMetricsQueryVariables>(RUN_METRICS, { id, maxPoints: POINTS_PER_RUN });
        if (!run) throw new Error(`There is no run ${id}.`);
        const series = new MetricSeries();
        series.append(run.metrics);
        return { id: run.id, name: run.name, status: run.status, series };
      }),
    )
      .then(setRuns)
      .catch((err: Error) => setError(err.message));
  }, [ids.join(",")]);

  // Running runs keep drawing; finished ones' streams end at once.
  useLiveSeries(runs);
  const zoom = useZoom(ids);
  if (error) return <p class="error">{error}</p>;
  if (!runs) return <p class="empty">Loading…</p>;
  if (runs.length < 2) return <p class="empty">Pick two or more runs in the <a href={href.runs()}>runs list</a> to compare them.</p>;

  // Zoomed: each run's points in the range at full resolution.
  const shown = zoomed(runs, zoom);
  const { x, column } = alignByIteration(shown);
  const lines = (key: "lossD" | "lossG", dash?: number[]): ChartSeries[] =>
    shown.map((run, i) => ({
      label: `${run.name} ${key === "lossD" ? "Loss_D" : "Loss_G"}`,
      values: column(run, smooth(run.series.columns[key], settings.smoothing)),
      color: COLORS[i % COLORS.length]!,
      dash,
    }));

  return (
    <section class="compare">
      <div class="toolbar">
        <h1>Compare runs</h1>
      </div>
      <ul class="legend">
        {runs.map((run, i) => (
          <li key={run.id}>
            <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} /> <a href={href.run(run.id)}>{run.name}</a> ({run.status.toLowerCase()},{" "}
            {run.series.lastIteration} iterations)
          </li>
        ))}
      </ul>
      <ChartControls settings={settings} onChange={setSettings} zoom={zoom} />
      <div class="charts" id="compare-charts">
        <Chart title="Loss_D (solid) and Loss_G (dashed) by iteration" x={x} log={settings.log} series={[...lines("lossD"), ...lines("lossG", [6, 4])]} zoom={zoom} />
        <SampleCompare runs={runs} colors={COLORS} />
      </div>
    </section>
  );
}
