import type { RunDetail, RunSummary } from "../types";
import { Chart } from "./Chart";

/** The runs list's and the run page's mark of a run whose fixed-noise grids grew alike (Run.collapseWarning). */
export function CollapseBadge({ run }: { run: Pick<RunSummary, "collapseWarning"> }) {
  if (!run.collapseWarning) return null;
  return (
    <span class="status collapse-warning" title={run.collapseWarning}>
      collapse?
    </span>
  );
}

/** Each fixed-noise grid's diversity (1 - mean pairwise SSIM of its images; 0: all alike), by iteration. */
export function DiversityChart({ samples }: { samples: RunDetail["samples"] }) {
  // By iteration, the newest grid of an iteration rendered twice (a resumed run's) in place of the older, as collapseWarning reads them.
  const byIteration = new Map<number, number>();
  for (const s of samples) if (s.kind === "FIXED_NOISE" && s.diversity !== null) byIteration.set(s.iteration, s.diversity);
  const points = [...byIteration].sort(([a], [b]) => a - b);
  if (points.length === 0) return null;
  return (
    <div id="diversity-chart" class="diversity-chart">
      <Chart
        title="Sample diversity (1 - mean pairwise SSIM of the fixed-noise grid)"
        x={points.map(([iteration]) => iteration)}
        height={180}
        series={[{ label: "diversity", values: points.map(([, diversity]) => diversity), color: "#0f766e" }]}
      />
    </div>
  );
}
