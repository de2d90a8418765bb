import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { zoomRange, type Zoom } from "../zoom";

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
  /** Drag across the chart to zoom to that range, double-click to zoom out; charts given one Zoom zoom together. */
  zoom?: Pick<Zoom, "range" | "set">;
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
 * only when its series or scale change. With a zoom, uPlot's x selection sets the
 * zoom's range (what the points are is the caller's: the range at full resolution)
 * and the x axis shows that range.
 */
export function Chart({ title, x, series, log = false, height = 260, zoom }: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>();
  const zoomed = useRef(zoom);
  zoomed.current = zoom;
  const range = zoom?.range;
  const shape = `${log}|${!!zoom}|${series.map((s) => s.label).join("|")}`;
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
      // A selection zooms through the caller (which fetches the range) instead of uPlot's own scale change.
      ...(zoom && { cursor: { drag: { x: true, y: false, setScale: false } }, hooks: { setSelect: [selectToZoom] } }),
    };
    function selectToZoom(u: uPlot): void {
      const { left, width } = u.select;
      if (width <= 0) return;
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      const selected = zoomRange(u.posToVal(left, "x"), u.posToVal(left + width, "x"));
      if (selected) zoomed.current?.set(selected);
    }
    const created = new uPlot(options, data(), target);
    plot.current = created;
    const resize = new ResizeObserver(() => created.setSize({ width: Math.max(target.clientWidth, 200), height }));
    resize.observe(target);
    // uPlot's double-click fits the x axis to the data; here it returns to the full view.
    const zoomOut = () => {
      if (zoomed.current?.range) zoomed.current.set(undefined);
    };
    created.over.addEventListener("dblclick", zoomOut);
    return () => {
      created.over.removeEventListener("dblclick", zoomOut);
      resize.disconnect();
      created.destroy();
      plot.current = undefined;
    };
    // Rebuilt when the shape changes; data updates go through setData below.
  }, [shape, title, height]);

  useEffect(() => {
    plot.current?.setData(data());
    if (range) plot.current?.setScale("x", { min: range.from, max: range.to });
  });

  // The points drawn: those in the zoomed range, or all.
  const drawn = range ? x.filter((iteration) => iteration >= range.from && iteration <= range.to).length : x.length;
  return <div class="chart" ref={container} data-points={drawn} data-series={series.length} data-zoom={range ? `${range.from}-${range.to}` : undefined} />;
}
