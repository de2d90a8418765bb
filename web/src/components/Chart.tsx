import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
}

interface ChartProps {
  title: string;
  x: number[];
  series: ChartSeries[];
  log?: boolean;
  height?: number;
}

/**
 * A legend value: the one under the pointer, else the series' latest. uPlot's default
 * reads "--" whenever the pointer is off the chart, which hides where a run stands.
 */
function valueOrLatest(u: uPlot, value: number | null, seriesIndex: number, index: number | null): string {
  const shown = index === null ? latest(u.data[seriesIndex]!) : value;
  return shown === null ? "" : uPlot.fmtNum(shown);
}

/** The last value that is not a gap (compared runs have gaps where another run has points). */
function latest(values: ArrayLike<number | null | undefined>): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const value = values[i];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

/**
 * A uPlot line chart over iterations. uPlot draws tens of thousands of points on a
 * canvas in milliseconds; new data goes through setData, and the plot is rebuilt
 * only when its series or scale change.
 */
export function Chart({ title, x, series, log = false, height = 260 }: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>();
  const shape = `${log}|${series.map((s) => s.label).join("|")}`;
  const data = (): uPlot.AlignedData => [
    x,
    // A log scale has no place for zero or negative values.
    ...series.map((s) => (log ? s.values.map((v) => (v !== null && v > 0 ? v : null)) : s.values)),
  ];

  useEffect(() => {
    const target = container.current!;
    const options: uPlot.Options = {
      title,
      width: Math.max(target.clientWidth, 200),
      height,
      scales: { x: { time: false }, y: { distr: log ? 3 : 1 } },
      axes: [{ label: "iteration" }, {}],
      series: [
        { label: "iteration", value: valueOrLatest },
        ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, dash: s.dash, spanGaps: true, points: { show: false }, value: valueOrLatest })),
      ],
      // Markers are drawn as short lines (styles.css), dashed for dashed series, so each line has its own.
      legend: { markers: { dash: (u, i) => (u.series[i]!.dash ? "dashed" : "solid") } },
    };
    const created = new uPlot(options, data(), target);
    plot.current = created;
    const resize = new ResizeObserver(() => created.setSize({ width: Math.max(target.clientWidth, 200), height }));
    resize.observe(target);
    return () => {
      resize.disconnect();
      created.destroy();
      plot.current = undefined;
    };
    // Rebuilt when the shape changes; data updates go through setData below.
  }, [shape, title, height]);

  useEffect(() => {
    plot.current?.setData(data());
  });

  return <div class="chart" ref={container} data-points={x.length} data-series={series.length} />;
}
