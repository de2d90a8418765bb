import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseTrainConfig } from "../src/engine/config.js";
import type { IterationMetrics } from "../src/engine/metrics.js";
import { Store } from "../src/server/store/store.js";
import { SweepTables } from "../src/server/sweeps/sweep-table.js";
import { freshDatabase } from "./store-helpers.js";

function metric(iteration: number): IterationMetrics {
  // Losses that fall and rise again: the best window is in the middle.
  const loss = (iteration - 60) ** 2 / 1000;
  return { iteration, epoch: 0, batch: iteration, lossD: 1 + loss, lossG: 2 + loss, dX: 0.5, dGz1: 0.4, dGz2: 0.3, errDReal: 0.6, errDFake: 0.4, imagesPerSecond: 1, timestamp: iteration };
}

describe("sweep tables", () => {
  let store: Store;
  beforeEach(async () => {
    store = await Store.open(await freshDatabase());
  });
  afterEach(() => store.close());

  it("keep each run's best windows between reads and add only the windows completed since: the same rows as a table read afresh", async () => {
    const config = parseTrainConfig({ iterations: 200, lr: 0.001 });
    const { sweep, runs } = await store.createSweep({ name: "s", grid: [{ field: "lr", values: [0.001] }], seeds: [999] }, [{ name: "r", config }]);
    const run = runs[0]!;
    const kept = new SweepTables(store);
    const add = (from: number, to: number) => store.addMetrics(run.id, Array.from({ length: to - from + 1 }, (_, i) => metric(from + i)));
    const [empty] = await kept.rows(sweep, runs, 20);
    expect(empty).toMatchObject({ final: null, bestLossD: null, bestLossG: null, diversity: null, params: [{ field: "lr", value: 0.001 }, { field: "seed", value: 999 }] });
    // Fewer iterations than a window: the best is the final mean.
    await add(1, 15);
    const [partial] = await kept.rows(sweep, runs, 20);
    expect(partial!.bestLossD).toBe(partial!.final!.lossD);
    for (const [from, to] of [[16, 45], [46, 70], [71, 130]] as const) {
      await add(from, to);
      const [incremental] = await kept.rows(sweep, runs, 20);
      const [afresh] = await new SweepTables(store).rows(sweep, runs, 20);
      expect(incremental).toEqual(afresh);
    }
    // Windows 41-60 and 61-80 are the best: (i - 60)^2 is smallest around 60.
    const [done] = await kept.rows(sweep, runs, 20);
    const windowMean = (from: number) => Array.from({ length: 20 }, (_, i) => metric(from + i).lossD).reduce((a, b) => a + b) / 20;
    expect(done!.bestLossD).toBeCloseTo(Math.min(windowMean(41), windowMean(61)), 12);
  });
});
