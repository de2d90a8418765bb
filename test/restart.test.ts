import Database from "better-sqlite3";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../src/engine/checkpoint.js";
import { tempDir, tinyRunLiteral } from "./helpers.js";
import { gqlData, progress, type ServerProcess, spawnServer, updatesUntil } from "./process-helpers.js";
import { freshDatabase } from "./store-helpers.js";

const RUN = `mutation { startRun(input: ${tinyRunLiteral({ iterations: 100000, checkpointEvery: 3, sampleEvery: 1000 })}) { id } }`;

interface RunState {
  run: { status: string; iteration: number; error: string | null; checkpoints: { iteration: number }[]; metrics: { iteration: number }[] };
}
const STATE = (id: string) => `{ run(id: "${id}") { status iteration error checkpoints { iteration } metrics { iteration } } }`;

describe("server restarts", () => {
  // As users stop it: with NODE_ENV unset (Apollo's own signal handlers are on then).
  it.each([
    { how: "SIGTERM", stop: (server: ServerProcess) => server.stop("SIGTERM") },
    { how: "Ctrl-C (forwarded by npm too)", stop: (server: ServerProcess) => server.ctrlC() },
  ])("$how interrupts a training run at an iteration boundary with a checkpoint and exits 0; resume continues where it stopped", async ({ stop }) => {
    const dataDir = await tempDir();
    const db = await freshDatabase();
    const first = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db, LOG_LEVEL: "info" });
    const { startRun } = await gqlData<{ startRun: { id: string } }>(first.url, RUN);
    await progress(first.url, startRun.id, 0, 4);
    expect(await stop(first)).toBe(0);

    const second = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    try {
      const { run } = await gqlData<RunState>(second.url, STATE(startRun.id));
      expect(run).toMatchObject({ status: "INTERRUPTED", error: null });
      expect(run.checkpoints.at(-1)!.iteration).toBe(run.iteration);
      expect(run.metrics.map((m) => m.iteration)).toEqual(Array.from({ length: run.iteration }, (_, i) => i + 1));
      await gqlData(second.url, `mutation { resumeRun(id: "${startRun.id}") { id } }`);
      expect(await progress(second.url, startRun.id, run.iteration, 2)).toEqual([run.iteration + 1, run.iteration + 2]);
    } finally {
      await second.stop();
    }
  });

  it("after SIGKILL the run is INTERRUPTED, its stored metrics and checkpoints intact, and resumable", async () => {
    const dataDir = await tempDir();
    const db = await freshDatabase();
    const first = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    const { startRun } = await gqlData<{ startRun: { id: string } }>(first.url, RUN);
    await progress(first.url, startRun.id, 0, 8);
    await first.stop("SIGKILL");

    const second = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    try {
      const { run } = await gqlData<RunState>(second.url, STATE(startRun.id));
      expect(run.status).toBe("INTERRUPTED");
      expect(run.error).toMatch(/server stopped/);
      const stored = run.metrics.map((m) => m.iteration);
      expect(stored).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1)); // a prefix, no holes
      const latest = run.checkpoints.at(-1)!.iteration;
      expect(latest % 3).toBe(0);
      await gqlData(second.url, `mutation { resumeRun(id: "${startRun.id}") { id } }`);
      // Training restarts at the checkpoint; iterations after it replace any stored beyond it.
      const resumed = await progress(second.url, startRun.id, latest, 2);
      expect(resumed).toEqual([latest + 1, latest + 2]);
    } finally {
      await second.stop();
    }
  });

  it("checkpoints and samples written but not recorded by a killed server are recorded at the next start; resume uses them", async () => {
    const dataDir = await tempDir();
    const db = await freshDatabase();
    const first = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    const { startRun } = await gqlData<{ startRun: { id: string } }>(first.url, RUN_WITH_SAMPLES);
    await updatesUntil(first.url, startRun.id, "checkpoints { iteration }", (run: { checkpoints: unknown[] }) => run.checkpoints.length >= 2);
    await first.stop("SIGKILL");
    // As if the server had died after each file's rename and before its row.
    const sqlite = new Database(db.replace(/^file:/, ""));
    sqlite.prepare(`DELETE FROM "Checkpoint" WHERE "runId" = ?`).run(startRun.id);
    sqlite.prepare(`DELETE FROM "Sample" WHERE "runId" = ?`).run(startRun.id);
    sqlite.close();
    const runDir = join(dataDir, "runs", startRun.id);
    const onDisk = (folder: string) => readdir(join(runDir, folder)).then((names) => names.filter((n) => !n.includes(".tmp-")).sort());
    const checkpointFiles = await onDisk("checkpoints");
    const sampleFiles = await onDisk("samples");
    expect(checkpointFiles.length).toBeGreaterThan(1);

    const second = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    try {
      const { run } = await gqlData<{ run: RecoveredRun }>(second.url, RECOVERED(startRun.id));
      expect(run.status).toBe("INTERRUPTED");
      // Every checkpoint on disk, with the progress its header holds.
      const expected = await Promise.all(checkpointFiles.map((name) => loadCheckpoint(join(runDir, "checkpoints", name))));
      expect(run.checkpoints).toEqual(expected.map(({ iteration, epoch }) => ({ iteration, epoch })));
      expect(run.samples.map((s) => `${s.kind} ${s.iteration}`)).toEqual(
        sampleFiles.map((name) => (name === "real.png" ? "REAL 0" : `FIXED_NOISE ${Number(/\d+/.exec(name)![0])}`)).sort(bySampleOrder),
      );
      const png = await fetch(new URL(run.samples.at(-1)!.url, second.url));
      expect(png.headers.get("content-type")).toBe("image/png");

      const latest = run.checkpoints.at(-1)!.iteration;
      await gqlData(second.url, `mutation { resumeRun(id: "${startRun.id}") { id } }`);
      expect(await progress(second.url, startRun.id, latest, 2)).toEqual([latest + 1, latest + 2]);
    } finally {
      await second.stop();
    }
  });

  it("resume after a kill never continues past the stored metrics: a checkpoint on disk beyond the last committed batch is passed over, so no iteration goes missing", async () => {
    const dataDir = await tempDir();
    const db = await freshDatabase();
    const first = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    const { startRun } = await gqlData<{ startRun: { id: string } }>(first.url, RUN);
    await updatesUntil(first.url, startRun.id, "checkpoints { iteration }", (run: { checkpoints: unknown[] }) => run.checkpoints.length >= 3);
    await first.stop("SIGKILL");
    // As if the server had died with its last metrics batches uncommitted: checkpoints 6 and 9 lie past the stored rows.
    const sqlite = new Database(db.replace(/^file:/, ""));
    sqlite.prepare(`DELETE FROM "Metric" WHERE "runId" = ? AND "iteration" > 4`).run(startRun.id);
    sqlite.prepare(`UPDATE "Run" SET "iteration" = 4 WHERE "id" = ?`).run(startRun.id);
    sqlite.close();

    const second = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db });
    try {
      await gqlData(second.url, `mutation { resumeRun(id: "${startRun.id}") { id } }`);
      // From checkpoint 3: iteration 4 again, then every one after it.
      expect(await progress(second.url, startRun.id, 0, 12)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    } finally {
      await second.stop();
    }
  });
});

const RUN_WITH_SAMPLES = RUN.replace("sampleEvery: 1000", "sampleEvery: 3");

interface RecoveredRun {
  status: string;
  checkpoints: { iteration: number; epoch: number }[];
  samples: { kind: string; iteration: number; url: string }[];
}
const RECOVERED = (id: string) => `{ run(id: "${id}") { status checkpoints { iteration epoch } samples { kind iteration url } } }`;

/** The order of run.samples: by iteration (the real images are iteration 0). */
function bySampleOrder(a: string, b: string): number {
  return Number(a.split(" ")[1]) - Number(b.split(" ")[1]);
}
