import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers.js";
import { gql, progress, spawnServer } from "./process-helpers.js";
import { freshDatabase } from "./store-helpers.js";

const RUN = `mutation { startRun(input: { imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, iterations: 100000, checkpointEvery: 3, sampleEvery: 1000, backend: CPU }) { id } }`;

interface RunState {
  run: { status: string; iteration: number; error: string | null; checkpoints: { iteration: number }[]; metrics: { iteration: number }[] };
}
const STATE = (id: string) => `{ run(id: "${id}") { status iteration error checkpoints { iteration } metrics { iteration } } }`;

describe("server restarts", () => {
  it("SIGTERM interrupts a training run at an iteration boundary with a checkpoint and exits 0; resume continues", async () => {
    const dataDir = await tempDir();
    const db = await freshDatabase();
    const first = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    const { startRun } = await gql<{ startRun: { id: string } }>(first.url, RUN);
    await progress(first.url, startRun.id, 0, 4);
    expect(await first.stop("SIGTERM")).toBe(0);

    const second = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    try {
      const { run } = await gql<RunState>(second.url, STATE(startRun.id));
      expect(run.status).toBe("INTERRUPTED");
      expect(run.checkpoints.at(-1)!.iteration).toBe(run.iteration);
      expect(run.metrics.map((m) => m.iteration)).toEqual(Array.from({ length: run.iteration }, (_, i) => i + 1));
      await gql(second.url, `mutation { resumeRun(id: "${startRun.id}") { id } }`);
      expect(await progress(second.url, startRun.id, run.iteration, 2)).toEqual([run.iteration + 1, run.iteration + 2]);
    } finally {
      await second.stop();
    }
  });

  it("after SIGKILL the run is INTERRUPTED, its stored metrics and checkpoints intact, and resumable", async () => {
    const dataDir = await tempDir();
    const db = await freshDatabase();
    const first = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    const { startRun } = await gql<{ startRun: { id: string } }>(first.url, RUN);
    await progress(first.url, startRun.id, 0, 8);
    await first.stop("SIGKILL");

    const second = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    try {
      const { run } = await gql<RunState>(second.url, STATE(startRun.id));
      expect(run.status).toBe("INTERRUPTED");
      expect(run.error).toMatch(/server stopped/);
      const stored = run.metrics.map((m) => m.iteration);
      expect(stored).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1)); // a prefix, no holes
      const latest = run.checkpoints.at(-1)!.iteration;
      expect(latest % 3).toBe(0);
      await gql(second.url, `mutation { resumeRun(id: "${startRun.id}") { id } }`);
      // Training restarts at the checkpoint; iterations after it replace any stored beyond it.
      const resumed = await progress(second.url, startRun.id, latest, 2);
      expect(resumed).toEqual([latest + 1, latest + 2]);
    } finally {
      await second.stop();
    }
  });
});
