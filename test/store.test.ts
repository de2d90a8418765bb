import Database from "better-sqlite3";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseTrainConfig } from "../src/engine/config.js";
import type { IterationMetrics } from "../src/engine/metrics.js";
import { dialectOf, PRISMA_PATHS } from "../src/server/store/dialect.js";
import { migrateDatabase, prismaCli } from "../src/server/store/migrate.js";
import { Store } from "../src/server/store/store.js";
import { InputError } from "../src/server/input-error.js";
import { NotFoundError, type RunRecord } from "../src/server/store/types.js";
import { freshDatabase, queryDatabase, testDatabases } from "./store-helpers.js";

const CONFIG = parseTrainConfig({ dataset: "synthetic", imageSize: 16, iterations: 100 });

/** For each database, a URL it cannot be opened at (nothing listens on port 1). */
const UNREACHABLE = { SQLite: "file:/nonexistent-dir/dcgan.db", PostgreSQL: "postgresql://postgres@127.0.0.1:1/dcgan" };

let url: string;
let store: Store;

function metric(iteration: number): IterationMetrics {
  return {
    iteration,
    epoch: Math.floor((iteration - 1) / 1000),
    batch: (iteration - 1) % 1000,
    lossD: Math.random() * 2,
    lossG: Math.random() * 5,
    dX: Math.random(),
    dGz1: Math.random(),
    dGz2: Math.random(),
    errDReal: Math.random(),
    errDFake: Math.random(),
    imagesPerSecond: 100 + Math.random() * 1000,
    timestamp: 1_764_000_000_000 + iteration * 37,
  };
}

function metricsFor(iterations: Iterable<number>): IterationMetrics[] {
  return Array.from(iterations, metric);
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(testDatabases())("the store on $name", ({ name, fresh }) => {
  beforeEach(async () => {
    url = await fresh();
    store = await Store.open(url);
  });
  afterEach(() => store.close());

  describe("runs", () => {
    it("creates a QUEUED run with its config and reads it back", async () => {
      const run = await store.createRun({ name: "first", config: CONFIG });
      expect(run).toMatchObject({ name: "first", status: "QUEUED", config: CONFIG, iteration: 0, epoch: 0, startedAt: null, error: null });
      expect(run.createdAt).toBeInstanceOf(Date);
      expect(await store.getRun(run.id)).toEqual(run);
      expect(await store.getRun("no-such-run")).toBeNull();
    });

    it("updates the fields of a patch and leaves the others", async () => {
      const run = await store.createRun({ name: "r", config: CONFIG });
      const startedAt = new Date("2026-01-02T03:04:05.678Z");
      const updated = await store.updateRun(run.id, {
        status: "RUNNING",
        startedAt,
        backend: "wasm",
        backendDetail: "simd",
        dataset: "synthetic 16x16",
        totalIterations: 100,
        batchesPerEpoch: 10,
      });
      expect(updated).toEqual({ ...run, status: "RUNNING", startedAt, backend: "wasm", backendDetail: "simd", dataset: "synthetic 16x16", totalIterations: 100, batchesPerEpoch: 10 });
      const failed = await store.updateRun(run.id, { status: "FAILED", error: "boom", finishedAt: new Date(), iteration: 42, epoch: 4 });
      expect(failed).toMatchObject({ status: "FAILED", error: "boom", iteration: 42, epoch: 4, startedAt });
      expect(await store.getRun(run.id)).toEqual(failed);
      await expect(store.updateRun("no-such-run", { status: "RUNNING" })).rejects.toBeInstanceOf(NotFoundError);
    });

    it("finds the oldest queued run and runs by status, oldest first", async () => {
      const a = await store.createRun({ name: "a", config: CONFIG });
      await sleep(2);
      const b = await store.createRun({ name: "b", config: CONFIG });
      await sleep(2);
      const c = await store.createRun({ name: "c", config: CONFIG });
      await store.updateRun(a.id, { status: "RUNNING" });
      await store.updateRun(c.id, { status: "STOPPING" });
      expect((await store.nextQueued())?.id).toBe(b.id);
      expect((await store.runsWithStatus(["RUNNING", "STOPPING"])).map((r) => r.id)).toEqual([a.id, c.id]);
      await store.updateRun(b.id, { status: "COMPLETED" });
      expect(await store.nextQueued()).toBeNull();
    });

    it("queues by the time a run joined the queue, not by its creation", async () => {
      const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));
      const older = await store.createRun({ name: "older", config: CONFIG });
      const waiting = await store.createRun({ name: "waiting", config: CONFIG });
      await store.updateRun(waiting.id, { queuedAt: at(1) });
      // The older run is resumed later: it joins the queue behind the one already waiting.
      await store.updateRun(older.id, { status: "QUEUED", queuedAt: at(2) });
      expect((await store.nextQueued())?.id).toBe(waiting.id);
      expect((await store.queuedRuns()).map((r) => r.id)).toEqual([waiting.id, older.id]);
    });
  });

  describe("listRuns", () => {
    /** Every page of `first` runs, following endCursor. */
    async function allPages(first: number, status?: RunRecord["status"]): Promise<RunRecord[][]> {
      const pages: RunRecord[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listRuns({ status, first, after });
        pages.push(page.runs);
        if (!page.hasNextPage) return pages;
        expect(page.endCursor).not.toBeNull();
        after = page.endCursor!;
      }
    }

    it("lists newest first", async () => {
      const created: string[] = [];
      for (let i = 0; i < 4; i++) {
        created.push((await store.createRun({ name: `r${i}`, config: CONFIG })).id);
        await sleep(2);
      }
      const { runs, hasNextPage } = await store.listRuns({ first: 10 });
      expect(runs.map((r) => r.id)).toEqual(created.reverse());
      expect(hasNextPage).toBe(false);
    });

    it("pages through runs created in the same milliseconds without duplicates or gaps", async () => {
      for (let i = 0; i < 23; i++) {
        const run = await store.createRun({ name: `r${i}`, config: CONFIG });
        if (i % 3 === 0) await store.updateRun(run.id, { status: "COMPLETED" });
      }
      const everything = (await store.listRuns({ first: 100 })).runs;
      const key = (r: RunRecord) => [r.createdAt.getTime(), r.id] as const;
      const sorted = [...everything].sort((x, y) => key(y)[0] - key(x)[0] || (key(y)[1] < key(x)[1] ? -1 : 1));
      expect(everything.map((r) => r.id)).toEqual(sorted.map((r) => r.id));

      const pages = await allPages(5);
      expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
      expect(pages.flat().map((r) => r.id)).toEqual(everything.map((r) => r.id));

      const completed = await allPages(3, "COMPLETED");
      expect(completed.flat().map((r) => r.id)).toEqual(everything.filter((r) => r.status === "COMPLETED").map((r) => r.id));
      expect(completed.flat()).toHaveLength(8);
    });

    it("keeps paging when the cursor's run was deleted, and rejects foreign cursors", async () => {
      for (let i = 0; i < 6; i++) await store.createRun({ name: `r${i}`, config: CONFIG });
      const everything = (await store.listRuns({ first: 10 })).runs.map((r) => r.id);
      const page = await store.listRuns({ first: 2 });
      await store.deleteRun(page.runs[1]!.id);
      const next = await store.listRuns({ first: 10, after: page.endCursor! });
      expect(next.runs.map((r) => r.id)).toEqual(everything.slice(2));

      expect((await store.listRuns({ first: 0 })).endCursor).toBeNull();
      await expect(store.listRuns({ first: 2, after: "bogus" })).rejects.toBeInstanceOf(InputError);
      await expect(store.listRuns({ first: 2, after: Buffer.from('["x", 1]').toString("base64url") })).rejects.toThrow(/after/);
    });
  });

  describe("metrics", () => {
    it("stores batches and reads them after an iteration and in ranges", async () => {
      const run = await store.createRun({ name: "m", config: CONFIG });
      const other = await store.createRun({ name: "other", config: CONFIG });
      expect(await store.lastMetricIteration(run.id)).toBe(0);
      const rows = metricsFor(range(1, 10_000));
      for (let i = 0; i < rows.length; i += 1000) await store.addMetrics(run.id, rows.slice(i, i + 1000));
      await store.addMetrics(other.id, metricsFor(range(1, 50)));
      await store.addMetrics(run.id, []);

      expect(await store.lastMetricIteration(run.id)).toBe(10_000);
      expect(await store.metricsAfter(run.id, 9990)).toEqual(rows.slice(9990));
      expect(await store.metricsAfter(run.id, 100, 3)).toEqual(rows.slice(100, 103));
      expect(await store.metrics(run.id)).toEqual(rows);
      expect(await store.metrics(run.id, { from: 100, to: 200 })).toEqual(rows.slice(99, 200));
      expect(await store.metrics(run.id, { from: 9_000, to: 12_000, maxPoints: 5_000 })).toEqual(rows.slice(8999));
      expect(await store.metrics(other.id, { maxPoints: 50 })).toHaveLength(50);
    });

    it("replaces the rows of iterations stored again (a resumed run)", async () => {
      const run = await store.createRun({ name: "m", config: CONFIG });
      await store.addMetrics(run.id, metricsFor(range(1, 300)));
      const replayed = metricsFor(range(201, 250));
      await store.addMetrics(run.id, replayed);
      const stored = await store.metrics(run.id);
      expect(stored).toHaveLength(300);
      expect(stored.slice(200, 250)).toEqual(replayed);
    });

    it("keeps the last row of an iteration sent twice in one batch (a retried batch with what came meanwhile)", async () => {
      const run = await store.createRun({ name: "m", config: CONFIG });
      const [first, second, again] = metricsFor([1, 2, 2]);
      await store.addMetrics(run.id, [first!, second!, again!]);
      expect(await store.metrics(run.id)).toEqual([first, again]);
    });

    it("downsamples evenly, first and last included, in ascending order", async () => {
      const run = await store.createRun({ name: "m", config: CONFIG });
      const rows = metricsFor(range(1, 10_000));
      await store.addMetrics(run.id, rows);

      const points = await store.metrics(run.id, { maxPoints: 100 });
      expect(points).toHaveLength(100);
      expect(points[0]).toEqual(rows[0]);
      expect(points.at(-1)).toEqual(rows.at(-1));
      for (const p of points) expect(p).toEqual(rows[p.iteration - 1]);
      const steps = points.slice(1).map((p, i) => p.iteration - points[i]!.iteration);
      expect(Math.min(...steps)).toBeGreaterThan(0);
      expect(Math.max(...steps) - Math.min(...steps)).toBeLessThanOrEqual(1);

      const window = await store.metrics(run.id, { from: 2_001, to: 3_000, maxPoints: 7 });
      expect(window.map((p) => p.iteration)).toEqual([2001, 2167, 2334, 2500, 2667, 2833, 3000]);

      await expect(store.metrics(run.id, { maxPoints: 1 })).rejects.toBeInstanceOf(InputError);
    });

    it("downsamples iterations with gaps to at most maxPoints distinct rows", async () => {
      const run = await store.createRun({ name: "m", config: CONFIG });
      // Dense at the start, sparse later: iterations 1..1000 then every 50th up to 20,000.
      const iterations = [...range(1, 1000), ...range(21, 400).map((i) => i * 50)];
      await store.addMetrics(run.id, metricsFor(iterations));
      const points = (await store.metrics(run.id, { maxPoints: 200 })).map((p) => p.iteration);
      expect(points.length).toBeLessThanOrEqual(200);
      expect(points.length).toBeGreaterThan(150);
      expect(points[0]).toBe(1);
      expect(points.at(-1)).toBe(20_000);
      expect(points.every((it, i) => i === 0 || it > points[i - 1]!)).toBe(true);
      expect(points.every((it) => iterations.includes(it))).toBe(true);
    });

    it("downsamples 200,000 rows without reading them all", async () => {
      const run = await store.createRun({ name: "long", config: CONFIG });
      let t = performance.now();
      for (let first = 1; first <= 200_000; first += 5000) await store.addMetrics(run.id, metricsFor(range(first, first + 4999)));
      const insertMs = performance.now() - t;

      const timings: number[] = [];
      let points: IterationMetrics[] = [];
      for (let i = 0; i < 3; i++) {
        t = performance.now();
        points = await store.metrics(run.id, { maxPoints: 500 });
        timings.push(performance.now() - t);
      }
      t = performance.now();
      await store.metricsAfter(run.id, 0, 20_000);
      const tenthMs = performance.now() - t;
      const downsampleMs = Math.min(...timings);
      console.log(
        `200,000 metric rows: inserted in ${insertMs.toFixed(0)} ms (40 batches of 5,000); ` +
          `metrics(maxPoints: 500) ${timings.map((ms) => ms.toFixed(1)).join(" / ")} ms; reading 20,000 rows ${tenthMs.toFixed(0)} ms`,
      );
      expect(points).toHaveLength(500);
      expect(points[0]!.iteration).toBe(1);
      expect(points.at(-1)!.iteration).toBe(200_000);
      // Reading every row would cost ten times reading a tenth of them.
      expect(downsampleMs).toBeLessThan(tenthMs);
    });
  });

  describe("sweeps", () => {
    it("stores a sweep with its runs in queue order, lists sweeps newest first, and leaves the runs when it is deleted", async () => {
      const runs = ["a", "b", "c"].map((n) => ({ name: n, config: CONFIG }));
      const { sweep, runs: created } = await store.createSweep({ name: "s", grid: [{ field: "lr", values: [1, 2, 3] }], seeds: [7] }, runs);
      expect(sweep).toMatchObject({ name: "s", grid: [{ field: "lr", values: [1, 2, 3] }], seeds: [7] });
      expect(created.map((r) => [r.name, r.sweepId])).toEqual([["a", sweep.id], ["b", sweep.id], ["c", sweep.id]]);
      expect((await store.queuedRuns()).map((r) => r.name)).toEqual(["a", "b", "c"]);
      expect((await store.sweepRuns(sweep.id)).map((r) => r.id)).toEqual(created.map((r) => r.id));
      const later = (await store.createSweep({ name: "t", grid: [], seeds: [1] }, [])).sweep;
      const first = await store.listSweeps({ first: 1 });
      expect(first.sweeps.map((s) => s.id)).toEqual([later.id]);
      expect((await store.listSweeps({ first: 5, after: first.endCursor! })).sweeps.map((s) => s.id)).toEqual([sweep.id]);
      await store.deleteSweep(sweep.id);
      expect(await store.getSweep(sweep.id)).toBeNull();
      expect((await store.getRun(created[0]!.id))?.sweepId).toBeNull();
    });

    it("averages the last window, and finds the best whole windows after a given one", async () => {
      const run = await store.createRun({ name: "r", config: CONFIG });
      const rows = metricsFor(range(1, 10));
      await store.addMetrics(run.id, rows);
      const mean = (from: number, to: number, key: "lossD" | "lossG") => rows.slice(from - 1, to).reduce((sum, m) => sum + m[key], 0) / (to - from + 1);
      const final = await store.lastWindowMeans(run.id, 4);
      expect(final!.lossD).toBeCloseTo(mean(7, 10, "lossD"), 12);
      expect(final!.dGz2).toBeCloseTo(rows.slice(6).reduce((sum, m) => sum + m.dGz2, 0) / 4, 12);
      // Windows of 4: 1-4 and 5-8 are whole, 9-10 not.
      const bests = await store.wholeWindowBests(run.id, 4);
      expect(bests.lastWhole).toBe(1);
      expect(bests.bestLossD).toBeCloseTo(Math.min(mean(1, 4, "lossD"), mean(5, 8, "lossD")), 12);
      expect(bests.bestLossG).toBeCloseTo(Math.min(mean(1, 4, "lossG"), mean(5, 8, "lossG")), 12);
      expect(await store.wholeWindowBests(run.id, 4, 1)).toEqual({ bestLossD: null, bestLossG: null, lastWhole: null });
      const more = metricsFor(range(11, 12));
      await store.addMetrics(run.id, more);
      rows.push(...more);
      const third = await store.wholeWindowBests(run.id, 4, 1);
      expect(third.lastWhole).toBe(2);
      expect(third.bestLossD).toBeCloseTo(mean(9, 12, "lossD"), 12);
      expect(await store.lastWindowMeans("no-such-run", 4)).toBeNull();
    });
  });

  describe("checkpoints and samples", () => {
    it("stores, lists in iteration order and finds the latest sample of a kind", async () => {
      const run = await store.createRun({ name: "a", config: CONFIG });
      const late = await store.addCheckpoint({ runId: run.id, iteration: 1000, epoch: 1, bytes: 3_000_000_000, path: `runs/${run.id}/ckpt_1000.json` });
      const early = await store.addCheckpoint({ runId: run.id, iteration: 500, epoch: 0, bytes: 1234, path: `runs/${run.id}/ckpt_500.json` });
      expect(late).toMatchObject({ runId: run.id, iteration: 1000, bytes: 3_000_000_000 });
      expect(await store.listCheckpoints(run.id)).toEqual([early, late]);
      expect(await store.getCheckpoint(late.id)).toEqual(late);
      expect(await store.getCheckpoint("missing")).toBeNull();

      expect(await store.latestSample(run.id)).toBeNull();
      const sample = (iteration: number, kind: "FIXED_NOISE" | "REAL" | "GENERATED", checkpointId?: string) =>
        store.addSample({ runId: run.id, iteration, epoch: 0, kind, bytes: 100 + iteration, path: `s_${iteration}_${kind}.png`, checkpointId });
      const real = await sample(0, "REAL");
      const fixed500 = await sample(500, "FIXED_NOISE");
      const fixed100 = await sample(100, "FIXED_NOISE");
      const generated = await sample(1000, "GENERATED", late.id);
      expect(real.checkpointId).toBeNull();
      expect(generated).toMatchObject({ checkpointId: late.id, kind: "GENERATED", bytes: 1100 });
      expect(await store.listSamples(run.id)).toEqual([real, fixed100, fixed500, generated]);
      expect(await store.latestSample(run.id)).toEqual(fixed500);
      expect(await store.latestSample(run.id, "REAL")).toEqual(real);
      expect(await store.getSample(generated.id)).toEqual(generated);
    });

    it("deleting a run removes its metrics, checkpoints and samples and nothing else", async () => {
      const doomed = await store.createRun({ name: "doomed", config: CONFIG });
      const kept = await store.createRun({ name: "kept", config: CONFIG });
      for (const run of [doomed, kept]) {
        await store.addMetrics(run.id, metricsFor(range(1, 100)));
        const checkpoint = await store.addCheckpoint({ runId: run.id, iteration: 100, epoch: 0, bytes: 1, path: "c" });
        await store.addSample({ runId: run.id, iteration: 100, epoch: 0, kind: "GENERATED", bytes: 1, path: "s", checkpointId: checkpoint.id });
      }
      await store.deleteRun(doomed.id);
      await store.deleteRun(doomed.id); // already gone: a no-op

      const count = (table: string) => queryDatabase(url, `SELECT "runId", CAST(COUNT(*) AS INTEGER) AS n FROM "${table}" GROUP BY "runId"`);
      expect(await store.getRun(doomed.id)).toBeNull();
      for (const table of ["Metric", "Checkpoint", "Sample"]) {
        expect(await count(table)).toEqual([{ runId: kept.id, n: table === "Metric" ? 100 : 1 }]);
      }
    });
  });

  it("closes its connections", async () => {
    await store.createRun({ name: "c", config: CONFIG });
    await store.close();
    // Only PostgreSQL's pool is seen from outside; a SQLite file has no sessions.
    if (name === "PostgreSQL") {
      const sessions = await queryDatabase(url, "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
      expect(sessions).toEqual([{ n: 0 }]);
    }
    store = await Store.open(url);
  });

  describe("migrations", () => {
    it("migrating an up-to-date database changes nothing", async () => {
      const run = await store.createRun({ name: "kept", config: CONFIG });
      await store.close();
      await migrateDatabase(url);
      store = await Store.open(url);
      expect(await store.getRun(run.id)).toEqual(run);
      const migrations = readdirSync(PRISMA_PATHS[dialectOf(url)].migrations, { withFileTypes: true }).filter((entry) => entry.isDirectory());
      expect(await queryDatabase(url, "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM _prisma_migrations")).toEqual([{ n: migrations.length }]);
    });

    it("build exactly the schema", async () => {
      // Replayed into a shadow database (PostgreSQL: a new one on the same server; SQLite: in memory).
      const { migrations, schema } = PRISMA_PATHS[dialectOf(url)];
      const output = await prismaCli(url, ["migrate", "diff", "--from-migrations", migrations, "--to-schema-datamodel", schema, "--exit-code"]);
      expect(output).toMatch(/No difference detected/);
    });

    it("reports the CLI's output when migrating fails", async () => {
      const unreachable = UNREACHABLE[name];
      const named = unreachable.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      await expect(migrateDatabase(unreachable)).rejects.toThrow(new RegExp(`^prisma migrate deploy failed for ${named}:\\n[\\s\\S]*Cannot open ${named}: \\w`));
    });
  });
});

describe("the SQLite database file", () => {
  beforeEach(async () => {
    url = await freshDatabase();
    store = await Store.open(url);
  });
  afterEach(() => store.close());

  it("is in WAL mode, so a reader does not hold up the writer", async () => {
    const run = await store.createRun({ name: "w", config: CONFIG });
    await store.addMetrics(run.id, metricsFor(range(1, 10)));
    const reader = new Database(fileURLToPath(url));
    expect(reader.pragma("journal_mode", { simple: true })).toBe("wal");
    const count = reader.prepare("SELECT COUNT(*) FROM Metric").pluck();
    reader.exec("BEGIN");
    expect(count.get()).toBe(10); // the read transaction now holds a snapshot
    const t = performance.now();
    await store.addMetrics(run.id, metricsFor(range(11, 20))); // would wait for the reader without WAL
    expect(performance.now() - t).toBeLessThan(1000);
    expect(count.get()).toBe(10);
    reader.exec("COMMIT");
    expect(count.get()).toBe(20);
    reader.close();
  });
});
