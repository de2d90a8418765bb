import { beforeAll, describe, expect, it } from "vitest";
import { parseTrainConfig } from "../src/engine/config.js";
import { COLLAPSE_DROP_FRACTION, COLLAPSE_WARMUP_SAMPLES, collapseWarning } from "../src/server/runs/collapse.js";
import { TINY_RUN } from "./helpers.js";
import { waitForStatus } from "./process-helpers.js";
import { startTestServer, type TestServer } from "./server-helpers.js";
import { testDatabases } from "./store-helpers.js";

const readings = (values: number[]) => values.map((diversity, i) => ({ iteration: (i + 1) * 100, diversity }));

describe("collapseWarning", () => {
  it("warns when the latest diversity falls under half the peak after the warm-up grids", () => {
    expect([COLLAPSE_WARMUP_SAMPLES, COLLAPSE_DROP_FRACTION]).toEqual([2, 0.5]);
    expect(collapseWarning([])).toBeNull();
    // A drop from the untrained G's grids is training, not collapse.
    expect(collapseWarning(readings([0.9, 0.8, 0.3, 0.3]))).toBeNull();
    // Ups and downs within half the peak.
    expect(collapseWarning(readings([0.5, 0.5, 0.3, 0.4, 0.35, 0.21]))).toBeNull();
    expect(collapseWarning(readings([0.5, 0.5, 0.3, 0.4, 0.35, 0.19]))).toBe(
      "sample diversity fell to 0.190 at iteration 600, under 50% of its peak 0.400 at iteration 400: the generator may be collapsing (its images alike)",
    );
    // An iteration read twice counts once, by its later reading.
    const twice = [...readings([0.5, 0.5, 0.4, 0.3]), { iteration: 400, diversity: 0.1 }];
    expect(collapseWarning(twice)).toMatch(/^sample diversity fell to 0\.100 at iteration 400, under 50% of its peak 0\.400 at iteration 300/);
    expect(collapseWarning([...readings([0.5, 0.5, 0.4, 0.1]), { iteration: 400, diversity: 0.3 }])).toBeNull();
    // Recovered: the latest reading decides.
    expect(collapseWarning(readings([0.5, 0.5, 0.4, 0.02, 0.3]))).toBeNull();
  });
});

describe.each(testDatabases())("over $name", ({ fresh }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ databaseUrl: await fresh() });
  });

  const RUN = `query ($id: ID!) { run(id: $id) { collapseWarning samples { kind iteration diversity } } }`;
  interface RunData {
    run: { collapseWarning: string | null; samples: { kind: string; iteration: number; diversity: number | null }[] };
  }

  it("stores each fixed-noise grid's diversity from training, and no warning for a healthy run", async () => {
    const started = await server.gql<{ startRun: { id: string } }>(
      `mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`,
      { input: { ...TINY_RUN, name: "diverse", iterations: 6, sampleEvery: 2 } },
    );
    const id = started.data!.startRun.id;
    await waitForStatus(server.service.url, id, ["COMPLETED"]);
    const { data } = await server.gql<RunData>(RUN, { id });
    const samples = data!.run.samples;
    expect(samples.map((s) => `${s.kind}@${s.iteration}`)).toEqual(["REAL@0", "FIXED_NOISE@2", "FIXED_NOISE@4", "FIXED_NOISE@6"]);
    expect(samples[0]!.diversity).toBeNull();
    for (const s of samples.slice(1)) expect(s.diversity).toBeGreaterThan(0.01);
    expect(data!.run.collapseWarning).toBeNull();
  });

  it("warns on a run whose stored diversity dropped sharply, in the list too", async () => {
    const { store } = server.service;
    const run = await store.createRun({ name: "collapsing", config: parseTrainConfig({ dataset: "synthetic", imageSize: 16, iterations: 1000 }) });
    const add = (iteration: number, diversity: number | null, kind: "FIXED_NOISE" | "REAL" = "FIXED_NOISE") =>
      store.addSample({ runId: run.id, iteration, epoch: 0, kind, bytes: 10, path: `samples/${iteration}.png`, diversity });
    await add(0, null, "REAL");
    for (const [iteration, diversity] of [[100, 0.7], [200, 0.4], [300, 0.45], [400, 0.42]] as const) await add(iteration, diversity);
    const before = await server.gql<RunData>(RUN, { id: run.id });
    expect(before.data!.run.collapseWarning).toBeNull();
    await add(500, 0.05);
    const after = await server.gql<RunData>(RUN, { id: run.id });
    expect(after.data!.run.collapseWarning).toMatch(/^sample diversity fell to 0\.050 at iteration 500, under 50% of its peak 0\.450 at iteration 300/);
    expect(after.data!.run.samples.map((s) => s.diversity)).toEqual([null, 0.7, 0.4, 0.45, 0.42, 0.05]);
    const list = await server.gql<{ runs: { nodes: { id: string; collapseWarning: string | null }[] } }>(`{ runs { nodes { id collapseWarning } } }`);
    expect(list.data!.runs.nodes.find((r) => r.id === run.id)?.collapseWarning).toMatch(/collapsing/);
  });
});
