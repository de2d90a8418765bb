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
      series: [{ label: "iteration" }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, dash: s.dash, spanGaps: true, points: { show: false } }))],
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
