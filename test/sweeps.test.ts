import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir, TINY_RUN } from "./helpers.js";
import { gqlData, postGraphQL, progress, type ServerProcess, spawnServer, waitForStatus } from "./process-helpers.js";
import { freshDatabase } from "./store-helpers.js";

// Sweeps over the API of a real server process, run as a user runs it.

interface SweepRun {
  id: string;
  name: string;
  status: string;
  iteration: number;
  config: { lr: number; ngf: number; seed: number };
  sweep: { id: string } | null;
}
interface SweepRow {
  run: { id: string };
  params: { field: string; value: number }[];
  final: { lossD: number; lossG: number; dX: number; dGz1: number; dGz2: number } | null;
  bestLossD: number | null;
  bestLossG: number | null;
  diversity: number | null;
}
interface SweepState {
  id: string;
  name: string;
  status: string;
  runCount: number;
  grid: { field: string; values: number[] }[];
  seeds: number[];
  statusCounts: { status: string; count: number }[];
  runs: SweepRun[];
}

const SWEEP_FIELDS = "id name status runCount grid { field values } seeds statusCounts { status count } runs { id name status iteration config { lr ngf seed } sweep { id } }";
const START = `mutation ($input: StartSweepInput!) { startSweep(input: $input) { ${SWEEP_FIELDS} } }`;
const SWEEP = `query ($id: ID!) { sweep(id: $id) { ${SWEEP_FIELDS} } }`;
const COUNTS = `{ runs(first: 100) { nodes { id } } sweeps(first: 100) { nodes { id } } }`;

describe("sweeps", () => {
  let server: ServerProcess;
  let dataDir: string;
  const gql = <T,>(query: string, variables?: Record<string, unknown>) => gqlData<T>(server.url, query, variables);
  const sweep = async (id: string) => (await gql<{ sweep: SweepState }>(SWEEP, { id })).sweep;
  const settle = async (s: SweepState, statuses = ["COMPLETED", "FAILED", "STOPPED", "INTERRUPTED"]) => {
    for (const run of s.runs) await waitForStatus(server.url, run.id, statuses);
    return sweep(s.id);
  };

  beforeAll(async () => {
    dataDir = await tempDir();
    server = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: await freshDatabase(), MAX_QUEUED_RUNS: "12" });
  });
  afterAll(() => server.stop());

  it("startSweep queues one run per combination and seed, in order; each completes and its table row matches its metrics", async () => {
    const base = { ...TINY_RUN, iterations: 6, sampleEvery: 3, checkpointEvery: 3 };
    const { startSweep } = await gql<{ startSweep: SweepState }>(START, {
      input: { name: "lr by ngf", base, grid: { lr: [0.0002, 0.001], ngf: [4, 8] }, seeds: [1, 2] },
    });
    expect(startSweep).toMatchObject({ name: "lr by ngf", runCount: 8, grid: [{ field: "lr", values: [0.0002, 0.001] }, { field: "ngf", values: [4, 8] }], seeds: [1, 2] });
    // The first seed's combinations first, the last axis fastest.
    expect(startSweep.runs.map((r) => [r.config.seed, r.config.lr, r.config.ngf])).toEqual([
      [1, 0.0002, 4], [1, 0.0002, 8], [1, 0.001, 4], [1, 0.001, 8],
      [2, 0.0002, 4], [2, 0.0002, 8], [2, 0.001, 4], [2, 0.001, 8],
    ]);
    expect(startSweep.runs[1]!.name).toBe("lr by ngf lr=0.0002 ngf=8 seed=1");
    expect(startSweep.runs.every((r) => r.sweep?.id === startSweep.id)).toBe(true);

    const done = await settle(startSweep);
    expect(done.status).toBe("COMPLETED");
    expect(done.statusCounts).toEqual([{ status: "COMPLETED", count: 8 }]);
    // One at a time (MAX_CONCURRENT_RUNS 1), in the queue's order.
    const times = await gql<{ sweep: { runs: { startedAt: string; finishedAt: string }[] } }>(`query ($id: ID!) { sweep(id: $id) { runs { startedAt finishedAt } } }`, { id: done.id });
    const starts = times.sweep.runs.map((r) => Date.parse(r.startedAt));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));

    const window = 4;
    const { sweep: withTable } = await gql<{ sweep: { table: SweepRow[]; runs: { metrics: { iteration: number; lossD: number; lossG: number; dX: number; dGz1: number; dGz2: number }[] }[] } }>(
      `query ($id: ID!, $window: Int) { sweep(id: $id) { table(window: $window) { run { id } params { field value } final { lossD lossG dX dGz1 dGz2 } bestLossD bestLossG diversity }
         runs { metrics(maxPoints: 100) { iteration lossD lossG dX dGz1 dGz2 } } } }`,
      { id: done.id, window },
    );
    expect(withTable.table.map((row) => row.run.id)).toEqual(done.runs.map((r) => r.id));
    expect(withTable.table[5]!.params).toEqual([{ field: "lr", value: 0.0002 }, { field: "ngf", value: 8 }, { field: "seed", value: 2 }]);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    withTable.table.forEach((row, i) => {
      const metrics = withTable.runs[i]!.metrics;
      expect(metrics.map((m) => m.iteration)).toEqual([1, 2, 3, 4, 5, 6]);
      const last = metrics.slice(-window);
      for (const key of ["lossD", "lossG", "dX", "dGz1", "dGz2"] as const) expect(row.final![key]).toBeCloseTo(mean(last.map((m) => m[key])), 10);
      // Whole windows of 4 in 6 iterations: only 1..4.
      expect(row.bestLossD).toBeCloseTo(mean(metrics.slice(0, 4).map((m) => m.lossD)), 10);
      expect(row.bestLossG).toBeCloseTo(mean(metrics.slice(0, 4).map((m) => m.lossG)), 10);
      expect(row.diversity).toBeGreaterThan(0);
    });
    // Same seed and settings, same numbers: the two seeds' runs differ, each from the other.
    expect(withTable.table[0]!.final!.lossD).not.toBe(withTable.table[4]!.final!.lossD);

    const listed = await gql<{ sweeps: { nodes: { id: string; status: string }[] } }>(`{ sweeps(first: 5) { nodes { id status } } }`);
    expect(listed.sweeps.nodes[0]).toEqual({ id: done.id, status: "COMPLETED" });
  });

  it("refuses a bad grid with BAD_USER_INPUT naming each field, and stores nothing", async () => {
    const before = await gql(COUNTS);
    const refused = async (input: Record<string, unknown>) => {
      const body = await postGraphQL(server.url, START, { input });
      expect(body.data ?? null).toBeNull();
      return body.errors!.map((e) => ({ code: e.extensions?.code, field: e.extensions?.field, message: e.message }));
    };
    const tiny = { ...TINY_RUN, iterations: 2 };
    // The lists' errors and the combinations' in one answer.
    expect(await refused({ base: tiny, grid: { ngf: [4, 2000], beta1: [0.5, 0.5] }, seeds: [1, 1] })).toEqual([
      { code: "BAD_USER_INPUT", field: "grid.beta1", message: "grid.beta1: 0.5 is given twice" },
      { code: "BAD_USER_INPUT", field: "seeds", message: "seeds: 1 is given twice" },
      { code: "BAD_USER_INPUT", field: "grid.ngf", message: "grid.ngf: 2000: must be a whole number from 1 to 1024" },
    ]);
    expect(await refused({ base: tiny, grid: { lr: [] } })).toEqual([{ code: "BAD_USER_INPUT", field: "grid.lr", message: "grid.lr: give at least one value, or leave it out" }]);
    expect(await refused({ base: tiny, grid: { ngf: [4, 2000], beta1: [0.5, 1.5] } })).toEqual([
      // In the order of the combinations: (beta1 0.5, ngf 2000) comes before (beta1 1.5, ngf 4).
      expect.objectContaining({ field: "grid.ngf", message: "grid.ngf: 2000: must be a whole number from 1 to 1024" }),
      expect.objectContaining({ field: "grid.beta1", message: expect.stringMatching(/^grid\.beta1: 1\.5: must be/) }),
    ]);
    expect(await refused({ base: { ...tiny, batchSize: 1 }, grid: { lr: [0.001] }, seeds: [-3] })).toEqual([
      expect.objectContaining({ field: "base.batchSize" }),
      expect.objectContaining({ field: "seeds", message: expect.stringMatching(/^seeds: -3: /) }),
    ]);
    expect(await refused({ base: { ...tiny, name: "x" }, grid: { lr: [0.001] } })).toEqual([expect.objectContaining({ field: "base.name" })]);
    // 3 x 5 = 15 runs, more than MAX_QUEUED_RUNS (12).
    expect(await refused({ base: tiny, grid: { lr: [0.1, 0.2, 0.3], ngf: [1, 2, 3, 4, 5] } })).toEqual([
      { code: "BAD_USER_INPUT", field: "grid", message: "grid: makes 15 runs, more than 12 (MAX_QUEUED_RUNS)" },
    ]);
    expect(await gql(COUNTS)).toEqual(before);
  });

  it("stopSweep stops its queued and running runs; resumeSweep brings every one back, from its checkpoint or the beginning, to COMPLETED", async () => {
    const base = { ...TINY_RUN, iterations: 40, sampleEvery: 1000, checkpointEvery: 1000 };
    const { startSweep } = await gql<{ startSweep: SweepState }>(START, { input: { base, grid: { lr: [0.0002, 0.0005, 0.001] } } });
    expect(startSweep.name).toBe("sweep lr");
    // The first trains, the others wait.
    await progress(server.url, startSweep.runs[0]!.id, 0, 3);
    const { stopSweep } = await gql<{ stopSweep: SweepState }>(`mutation ($id: ID!) { stopSweep(id: $id) { ${SWEEP_FIELDS} } }`, { id: startSweep.id });
    expect(stopSweep.runs.map((r) => r.status)).toEqual([expect.stringMatching(/STOPPING|STOPPED/), "STOPPED", "STOPPED"]);
    const stopped = await settle(stopSweep);
    expect(stopped.status).toBe("STOPPED");
    expect(stopped.runs[1]!.iteration).toBe(0);

    await gql(`mutation ($id: ID!) { resumeSweep(id: $id) { id } }`, { id: startSweep.id });
    const resumed = await settle(stopped, ["COMPLETED", "FAILED"]);
    expect(resumed.runs.map((r) => [r.status, r.iteration])).toEqual([["COMPLETED", 40], ["COMPLETED", 40], ["COMPLETED", 40]]);
    const { sweep: stored } = await gql<{ sweep: { runs: { metrics: { iteration: number }[] }[] } }>(`query ($id: ID!) { sweep(id: $id) { runs { metrics(maxPoints: 100) { iteration } } } }`, { id: startSweep.id });
    for (const run of stored.runs) expect(run.metrics.map((m) => m.iteration)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const again = await postGraphQL(server.url, `mutation ($id: ID!) { resumeSweep(id: $id) { id } }`, { id: startSweep.id });
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
  });

  it("deleteSweep refuses while a run trains, then removes the sweep with its runs and their files", async () => {
    const base = { ...TINY_RUN, iterations: 100_000, sampleEvery: 1000, checkpointEvery: 1000 };
    const { startSweep } = await gql<{ startSweep: SweepState }>(START, { input: { base, grid: { beta1: [0.5] }, seeds: [3, 4] } });
    await progress(server.url, startSweep.runs[0]!.id, 0, 1);
    const early = await postGraphQL(server.url, `mutation ($id: ID!) { deleteSweep(id: $id) }`, { id: startSweep.id });
    expect(early.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
    await gql(`mutation ($id: ID!) { stopSweep(id: $id) { id } }`, { id: startSweep.id });
    await settle(startSweep);
    const files = join(dataDir, "runs", startSweep.runs[0]!.id);
    expect(existsSync(files)).toBe(true);
    expect(await gql(`mutation ($id: ID!) { deleteSweep(id: $id) }`, { id: startSweep.id })).toEqual({ deleteSweep: true });
    expect(existsSync(files)).toBe(false);
    expect(await sweep(startSweep.id)).toBeNull();
    const runs = await gql<{ a: unknown; b: unknown }>(`query ($a: ID!, $b: ID!) { a: run(id: $a) { id } b: run(id: $b) { id } }`, { a: startSweep.runs[0]!.id, b: startSweep.runs[1]!.id });
    expect(runs).toEqual({ a: null, b: null });
  });
});

describe("a sweep across a server killed mid-run", () => {
  it("keeps its queued runs queued and its training run INTERRUPTED; resumeSweep completes them all, every iteration stored once", async () => {
    const env = { DATA_DIR: await tempDir(), DATABASE_URL: await freshDatabase() };
    const first = await spawnServer(env);
    const base = { ...TINY_RUN, iterations: 30, sampleEvery: 1000, checkpointEvery: 7 };
    const { startSweep } = await gqlData<{ startSweep: SweepState }>(first.url, START, { input: { base, grid: { lr: [0.0002, 0.001] }, seeds: [1] } });
    await progress(first.url, startSweep.runs[0]!.id, 0, 10);
    await first.stop("SIGKILL");

    const second = await spawnServer(env);
    try {
      const after = (await gqlData<{ sweep: SweepState }>(second.url, SWEEP, { id: startSweep.id })).sweep;
      expect(after.runs[0]!.status).toBe("INTERRUPTED");
      // The queued one starts on its own; the interrupted one waits for resumeSweep.
      await waitForStatus(second.url, after.runs[1]!.id, ["COMPLETED"]);
      expect((await gqlData<{ sweep: SweepState }>(second.url, SWEEP, { id: startSweep.id })).sweep.status).toBe("INTERRUPTED");
      await gqlData(second.url, `mutation ($id: ID!) { resumeSweep(id: $id) { id } }`, { id: startSweep.id });
      await waitForStatus(second.url, after.runs[0]!.id, ["COMPLETED"]);
      const { sweep: done } = await gqlData<{ sweep: { status: string; runs: { metrics: { iteration: number }[] }[] } }>(
        second.url,
        `query ($id: ID!) { sweep(id: $id) { status runs { metrics(maxPoints: 100) { iteration } } } }`,
        { id: startSweep.id },
      );
      expect(done.status).toBe("COMPLETED");
      for (const run of done.runs) expect(run.metrics.map((m) => m.iteration)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    } finally {
      await second.stop();
    }
  });
});
