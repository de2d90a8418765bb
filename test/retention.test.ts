import { existsSync } from "node:fs";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTrainConfig } from "../src/engine/config.js";
import { enforceRetention, holdCheckpoint, parseKeepCheckpoints } from "../src/server/runs/retention.js";
import { Store } from "../src/server/store/store.js";
import { tempDir, TINY_RUN } from "./helpers.js";
import { waitForStatus } from "./process-helpers.js";
import { startTestServer, type TestServer } from "./server-helpers.js";
import { freshDatabase } from "./store-helpers.js";

interface RunData {
  id: string;
  status: string;
  diskBytes: number;
  keepCheckpoints: { last: number; every: number };
  checkpoints: { id: string; iteration: number; bytes: number }[];
}

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

async function trainToEnd(keepCheckpoints: Record<string, number> | undefined): Promise<RunData> {
  const input = { ...TINY_RUN, seed: 3, iterations: 12, checkpointEvery: 2, sampleEvery: 100, ...(keepCheckpoints && { keepCheckpoints }) };
  const started = await server.gql<{ startRun: { id: string } }>(`mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`, { input });
  if (!started.data) throw new Error(JSON.stringify(started.errors));
  const id = started.data.startRun.id;
  const end = await waitForStatus<{ status: string; error: string | null }>(server.service.url, id, ["COMPLETED", "FAILED"], "status error");
  expect(end).toEqual({ status: "COMPLETED", error: null });
  const res = await server.gql<{ run: RunData }>(
    `query ($id: ID!) { run(id: $id) { id status diskBytes keepCheckpoints { last every } checkpoints { id iteration bytes } } }`,
    { id },
  );
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.run;
}

/** The checkpoint files in the run's folder, by size. */
async function filesOf(runId: string): Promise<{ checkpoints: number[]; total: number }> {
  const dir = join(server.dataDir, "runs", runId);
  const sizes: { name: string; size: number }[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else sizes.push({ name: path, size: (await stat(path)).size });
    }
  };
  await walk(dir);
  return {
    checkpoints: sizes.filter((f) => /checkpoint/.test(f.name) && !/samples/.test(f.name)).map((f) => f.size),
    total: sizes.reduce((sum, f) => sum + f.size, 0),
  };
}

describe("checkpoint retention", () => {
  it("keeps only the newest two with {last: 2}, rows and files, and diskBytes is the files' size", async () => {
    const run = await trainToEnd({ last: 2 });
    expect(run.keepCheckpoints).toEqual({ last: 2, every: 0 });
    expect(run.checkpoints.map((c) => c.iteration)).toEqual([10, 12]);
    const files = await filesOf(run.id);
    expect(files.checkpoints.sort()).toEqual(run.checkpoints.map((c) => c.bytes).sort());
    expect(run.diskBytes).toBe(files.total);
  });

  it("keeps multiples of `every` besides the newest with {last: 1, every: 4}", async () => {
    const run = await trainToEnd({ last: 1, every: 4 });
    expect(run.checkpoints.map((c) => c.iteration)).toEqual([4, 8, 12]);
    expect((await filesOf(run.id)).checkpoints).toHaveLength(3);
  });

  it("keeps every checkpoint by default, and Query.system's diskBytes totals every run", async () => {
    const run = await trainToEnd(undefined);
    expect(run.keepCheckpoints).toEqual({ last: 0, every: 0 });
    expect(run.checkpoints.map((c) => c.iteration)).toEqual([2, 4, 6, 8, 10, 12]);
    const runs = await server.gql<{ runs: { nodes: { diskBytes: number }[] }; system: { diskBytes: number } }>(`{ runs(first: 100) { nodes { diskBytes } } system { diskBytes } }`);
    if (!runs.data) throw new Error(JSON.stringify(runs.errors));
    expect(runs.data.system.diskBytes).toBe(runs.data.runs.nodes.reduce((s, r) => s + r.diskBytes, 0));
    const all = await readdir(join(server.dataDir, "runs"));
    let total = 0;
    for (const id of all) total += (await filesOf(id)).total;
    expect(runs.data.system.diskBytes).toBe(total);
  });

  it("refuses a negative rule, naming the field", async () => {
    const res = await server.gql(`mutation { startRun(input: { imageSize: 16, keepCheckpoints: { last: -1 } }) { id } }`);
    expect(res.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "keepCheckpoints.last" } });
  });
});

describe("what retention never deletes", () => {
  let store: Store;
  let dataDir: string;
  const log = pino({ level: "silent" });
  const config = parseTrainConfig({ dataset: "synthetic", imageSize: 16, iterations: 100 });

  beforeAll(async () => {
    store = await Store.open(await freshDatabase());
    dataDir = await tempDir();
  });
  afterAll(() => store.close());

  async function checkpoint(runId: string, iteration: number) {
    const path = join("runs", runId, `checkpoint_${iteration}.bin`);
    await mkdir(join(dataDir, "runs", runId), { recursive: true });
    await writeFile(join(dataDir, path), "x".repeat(iteration));
    // Distinct landing times, in iteration order.
    await new Promise((r) => setTimeout(r, 2));
    return store.addCheckpoint({ runId, iteration, epoch: 0, bytes: iteration, path });
  }

  it("keeps a held checkpoint (a queued resume's, a generate's) until released, and a fork's", async () => {
    const run = await store.createRun({ name: "parent", config, keep: { last: 1, every: 0 } });
    const [c1, c2, c3] = [await checkpoint(run.id, 1), await checkpoint(run.id, 2), await checkpoint(run.id, 3)];
    const sample = await store.addSample({ runId: run.id, iteration: 1, epoch: 0, kind: "GENERATED", bytes: 5, path: "g.png", checkpointId: c1.id });
    await store.createRun({ name: "fork", config, fork: { parentRunId: run.id, iteration: 2, epoch: 0 } });
    const release = holdCheckpoint(c1.id);
    await enforceRetention({ store, dataDir, logger: log }, run);
    expect((await store.listCheckpoints(run.id)).map((c) => c.id)).toEqual([c1.id, c2.id, c3.id]);
    release();
    const c4 = await checkpoint(run.id, 4);
    const deleted = await enforceRetention({ store, dataDir, logger: log }, run);
    expect(deleted.map((c) => c.iteration).sort()).toEqual([1, 3]);
    // The fork's checkpoint (iteration 2) and the newest stay.
    expect((await store.listCheckpoints(run.id)).map((c) => c.id)).toEqual([c2.id, c4.id]);
    expect(existsSync(join(dataDir, c1.path))).toBe(false);
    expect(existsSync(join(dataDir, c2.path))).toBe(true);
    // The sample rendered from a deleted checkpoint stays, its checkpointId cleared.
    expect(await store.getSample(sample.id)).toMatchObject({ id: sample.id, checkpointId: null });
    expect(await store.diskBytes(run.id)).toBe(2 + 4 + 5);
  });

  it("reads KEEP_CHECKPOINTS", () => {
    expect(parseKeepCheckpoints("last=5,every=1000")).toEqual({ last: 5, every: 1000 });
    expect(parseKeepCheckpoints("every=10")).toEqual({ last: 0, every: 10 });
    expect(parseKeepCheckpoints("")).toEqual({ last: 0, every: 0 });
    expect(() => parseKeepCheckpoints("last=-1")).toThrow(/KEEP_CHECKPOINTS/);
  });
});
