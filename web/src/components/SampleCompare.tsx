import { useEffect, useState } from "preact/hooks";
import { subscribe } from "../api";
import { RUN_SAMPLES_UPDATED } from "../queries";
import type { RunSamplesUpdatedSubscription, RunSamplesUpdatedSubscriptionVariables } from "../schema-types";
import { fixedNoiseGrids, GridFigure, TimelineSlider, type Grid } from "./SampleTimeline";

/** The position in `iterations` (ascending, not empty) nearest to `target`; of two as near, the earlier. */
export function nearest(iterations: readonly number[], target: number): number {
  let best = 0;
  iterations.forEach((iteration, i) => {
    if (Math.abs(iteration - target) < Math.abs(iterations[best]! - target)) best = i;
  });
  return best;
}

/**
 * The compared runs' fixed-noise grids side by side at one iteration: one slider over
 * every iteration any of them has a grid at, and of each run the grid nearest to it.
 * Runs still training add theirs as they come (runUpdated); at the end, the slider
 * stays at the end.
 */
export function SampleCompare({ runs, colors }: { runs: { id: string; name: string }[]; colors: readonly string[] }) {
  const [grids, setGrids] = useState<Record<string, Grid[]>>({});
  // An iteration the user picked; undefined: the latest.
  const [picked, setPicked] = useState<number>();
  const key = runs.map((run) => run.id).join(",");

  useEffect(() => {
    const ends = runs.map(({ id }) =>
      subscribe<RunSamplesUpdatedSubscription, RunSamplesUpdatedSubscriptionVariables>(RUN_SAMPLES_UPDATED, { id }, {
        next: ({ runUpdated }) => setGrids((current) => ({ ...current, [id]: fixedNoiseGrids(runUpdated.samples) })),
      }),
    );
    return () => ends.forEach((end) => end());
  }, [key]);

  const iterations = [...new Set(Object.values(grids).flatMap((run) => run.map((grid) => grid.iteration)))].sort((a, b) => a - b);
  const shown = picked === undefined ? iterations.length - 1 : nearest(iterations, picked);
  const target = iterations[shown];

  return (
    <div class="sample-compare" id="sample-compare">
      <div class="sample-grids">
        {runs.map((run, i) => {
          const own = grids[run.id] ?? [];
          const grid = target === undefined || own.length === 0 ? undefined : own[nearest(own.map((g) => g.iteration), target)];
          return (
            <div key={run.id} data-run-id={run.id} data-iteration={grid?.iteration}>
              <GridFigure grid={grid} alt={`${run.name}: fake images at iteration ${grid?.iteration}`} missing={run.id in grids ? "no samples yet" : "loading…"}>
                <span class="swatch" style={{ background: colors[i % colors.length] }} /> <span class="run-name">{run.name}</span>
                <br />
                {grid ? `iteration ${grid.iteration} (epoch ${grid.epoch})` : "–"}
              </GridFigure>
            </div>
          );
        })}
      </div>
      {iterations.length > 1 && (
        <div class="timeline">
          <span class="small">iteration {target}</span>
          <TimelineSlider count={iterations.length} shown={shown} label="compared samples' iteration" onPick={(position) => setPicked(position === undefined ? undefined : iterations[position])} />
        </div>
      )}
    </div>
  );
}
