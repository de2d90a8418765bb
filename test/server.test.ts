import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { TRAIN_DEFAULTS } from "../src/engine/config.js";
import { schemaSdl } from "../src/server/graphql/emit-schema.js";
import { serviceThreads } from "../src/server/runs/local-run-queue.js";
import { TINY_RUN } from "./helpers.js";
import { waitForStatus as waitForRunStatus } from "./process-helpers.js";
import { collect, startTestServer, type TestServer } from "./server-helpers.js";
import { testDatabases } from "./store-helpers.js";

/** A model small enough to train on the cpu backend in milliseconds per iteration. */
const TINY = { ...TINY_RUN, seed: 5 };

const RUN_FIELDS = "id status iteration epoch error backend config { imageSize channels batchSize lr dataset { kind } backend }";
const PROGRESS = `subscription ($runId: ID!, $after: Int) {
  runProgress(runId: $runId, after: $after) { runId iteration epoch batch lossD lossG dX dGz1 dGz2 errDReal errDFake imagesPerSecond timestamp }
}`;

interface RunData {
  id: string;
  status: string;
  iteration: number;
  error: string | null;
  backend: string | null;
}
interface Progress {
  runProgress: { iteration: number; lossD: number; lossG: number; dX: number };
}

/** The server of the databases' describe block running now. */
let server: TestServer;

async function startRun(input: Record<string, unknown>): Promise<RunData> {
  const res = await server.gql<{ startRun: RunData }>(`mutation ($input: StartRunInput!) { startRun(input: $input) { ${RUN_FIELDS} } }`, { input });
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.startRun;
}

async function run(id: string) {
  const res = await server.gql<{ run: RunData & { checkpoints: { id: string; iteration: number; downloadUrl: string }[]; samples: { kind: string; iteration: number; url: string }[]; metrics: { iteration: number; lossD: number }[] } }>(
    `query ($id: ID!) { run(id: $id) { ${RUN_FIELDS} checkpoints { id iteration downloadUrl } samples { kind iteration url } metrics { iteration lossD } } }`,
    { id },
  );
  return res.data!.run;
}

/** process-helpers' waitForStatus on this file's server, with the fields its tests read. */
function waitForStatus(id: string, statuses: string[]): Promise<RunData> {
  return waitForRunStatus<RunData>(server.service.url, id, statuses, "id status iteration error backend");
}

// The GraphQL contract holds on each database the store runs on.
describe.each(testDatabases())("over $name", ({ fresh }) => {
  beforeAll(async () => {
    // A budget small enough that the models refused for it are cheap to describe.
    server = await startTestServer({ databaseUrl: await fresh(), limits: { memoryBudgetMb: 1024 } });
  });

  describe("a training run over GraphQL", () => {
    it("streams every iteration, stops at a boundary with a checkpoint and a sample, and stores what it streamed", async () => {
      const started = await startRun({ ...TINY, name: "stream", iterations: 100_000, sampleEvery: 1000, checkpointEvery: 1000 });
      expect(started.status).toMatch(/QUEUED|RUNNING/);
      expect(started).toMatchObject({ config: { imageSize: 16, channels: 1, batchSize: 4, backend: "CPU", dataset: { kind: "SYNTHETIC" } } });

      let stopRequested = false;
      const { events, completed } = await collect<Progress>(server.ws, PROGRESS, { runId: started.id, after: 0 }, (events) => {
        if (events.length === 5 && !stopRequested) {
          stopRequested = true;
          void server.gql(`mutation ($id: ID!) { stopRun(id: $id) { status } }`, { id: started.id });
        }
        return false; // the stream ends by itself when the run stops
      });
      expect(completed).toBe(true);
      const iterations = events.map((e) => e.runProgress.iteration);
      expect(iterations).toEqual(Array.from({ length: iterations.length }, (_, i) => i + 1));

      const stopped = await run(started.id);
      expect(stopped.status).toBe("STOPPED");
      expect(stopped.backend).toBe("cpu");
      expect(stopped.iteration).toBe(iterations.at(-1));
      expect(stopped.checkpoints.map((c) => c.iteration)).toEqual([stopped.iteration]);
      expect(stopped.samples.map((s) => `${s.kind}@${s.iteration}`)).toEqual(["REAL@0", `FIXED_NOISE@${stopped.iteration}`]);
      // run.metrics equals what the subscriber saw
      expect(stopped.metrics).toEqual(events.map((e) => ({ iteration: e.runProgress.iteration, lossD: e.runProgress.lossD })));

      const png = await fetch(server.origin + stopped.samples[1]!.url);
      expect(png.status).toBe(200);
      expect(png.headers.get("content-type")).toBe("image/png");
      const checkpoint = await fetch(server.origin + stopped.checkpoints[0]!.downloadUrl);
      expect(checkpoint.status).toBe(200);
      expect(Buffer.from(await checkpoint.arrayBuffer()).subarray(0, 8).toString()).toBe("DCGANCK1");

      // generate renders new images from that checkpoint, stored as a GENERATED sample
      const generated = await server.gql<{ generate: { kind: string; iteration: number; url: string } }>(
        `mutation ($id: ID!) { generate(checkpointId: $id, count: 10, seed: 3) { kind iteration url } }`,
        { id: stopped.checkpoints[0]!.id },
      );
      expect(generated.data?.generate).toMatchObject({ kind: "GENERATED", iteration: stopped.iteration });
      const grid = Buffer.from(await (await fetch(server.origin + generated.data!.generate.url)).arrayBuffer());
      // PNG header: width and height at bytes 16-23; 10 images of 16 px -> 8 per row, 2 rows
      expect([grid.readUInt32BE(16), grid.readUInt32BE(20)]).toEqual([8 * 18 + 2, 2 * 18 + 2]);
      const badCount = await server.gql(`mutation ($id: ID!) { generate(checkpointId: $id, count: 0) { id } }`, { id: stopped.checkpoints[0]!.id });
      expect(badCount.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "count" });
    });

    it("replays stored iterations after `after`, then continues live, each exactly once", async () => {
      const started = await startRun({ ...TINY, name: "replay", iterations: 100_000, sampleEvery: 1000, checkpointEvery: 1000 });
      await collect<Progress>(server.ws, PROGRESS, { runId: started.id }, (events) => events.at(-1)!.runProgress.iteration >= 6);
      const { events } = await collect<Progress>(server.ws, PROGRESS, { runId: started.id, after: 2 }, (events) => events.at(-1)!.runProgress.iteration >= 12);
      const iterations = events.map((e) => e.runProgress.iteration);
      expect(iterations).toEqual(Array.from({ length: iterations.length }, (_, i) => i + 3));
      await server.gql(`mutation ($id: ID!) { stopRun(id: $id) { id } }`, { id: started.id });
      await waitForStatus(started.id, ["STOPPED"]);

      // resumeRun continues the numbering from the latest checkpoint
      const stoppedAt = (await run(started.id)).iteration;
      const resumed = await server.gql<{ resumeRun: RunData }>(`mutation ($id: ID!) { resumeRun(id: $id) { status } }`, { id: started.id });
      expect(resumed.data?.resumeRun.status).toMatch(/QUEUED|RUNNING/);
      const { events: after } = await collect<Progress>(server.ws, PROGRESS, { runId: started.id, after: stoppedAt }, (events) => events.length >= 2);
      expect(after.map((e) => e.runProgress.iteration)).toEqual([stoppedAt + 1, stoppedAt + 2]);
      await server.gql(`mutation ($id: ID!) { stopRun(id: $id) { id } }`, { id: started.id });
      await waitForStatus(started.id, ["STOPPED"]);
    });

    it("forkRun trains a new run from a checkpoint with a new lr, numbered on from it; a shape cannot change", async () => {
      const parent = await startRun({ ...TINY, name: "parent", iterations: 100_000, sampleEvery: 1000, checkpointEvery: 1000 });
      await collect<Progress>(server.ws, PROGRESS, { runId: parent.id }, (events) => events.at(-1)!.runProgress.iteration >= 3);
      await server.gql(`mutation ($id: ID!) { stopRun(id: $id) { id } }`, { id: parent.id });
      await waitForStatus(parent.id, ["STOPPED"]);
      const checkpoint = (await run(parent.id)).checkpoints.at(-1)!;
      const countRuns = async () => (await server.gql<{ runs: { nodes: unknown[] } }>(`{ runs(first: 100) { nodes { id } } }`)).data!.runs.nodes.length;
      const before = await countRuns();

      // A shape, the data or the seed: refused naming the field, each one.
      const shape = await server.gql(`mutation ($id: ID!) { forkRun(checkpointId: $id, changes: { lr: 0.001, imageSize: 32, ngf: 16, seed: 6, dataset: { kind: MNIST } }) { id } }`, { id: checkpoint.id });
      expect(shape.errors?.map((e) => e.extensions)).toEqual(
        ["imageSize", "ngf", "seed", "dataset.kind"].map((field) => expect.objectContaining({ code: "BAD_USER_INPUT", field })),
      );
      // The same values as the checkpoint's pass.
      await expect(server.service.runs.fork(checkpoint.id, { imageSize: TINY.imageSize, iterations: 1 })).rejects.toMatchObject({ field: "iterations" });
      await expect(server.service.runs.fork(checkpoint.id, { lr: 0.001, imageSize: 32 })).rejects.toMatchObject({ name: "InputError", field: "imageSize" });
      await expect(server.service.runs.fork(checkpoint.id, { dataset: "mnist" })).rejects.toMatchObject({ field: "dataset.kind" });
      const tooShort = await server.gql(`mutation ($id: ID!) { forkRun(checkpointId: $id, changes: { iterations: ${checkpoint.iteration} }) { id } }`, { id: checkpoint.id });
      expect(tooShort.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "iterations" });
      expect(await countRuns()).toBe(before);

      const forked = await server.gql<{ forkRun: { id: string; status: string; forkIteration: number; iteration: number; parent: { id: string }; config: { lr: number; beta1: number; imageSize: number } } }>(
        `mutation ($id: ID!, $changes: ForkRunInput) { forkRun(checkpointId: $id, changes: $changes, name: "child") { id status forkIteration iteration parent { id } config { lr beta1 imageSize } } }`,
        { id: checkpoint.id, changes: { lr: 0.001, iterations: checkpoint.iteration + 5 } },
      );
      const child = forked.data!.forkRun;
      expect(child).toMatchObject({ status: expect.stringMatching(/QUEUED|RUNNING/), forkIteration: checkpoint.iteration, iteration: checkpoint.iteration, parent: { id: parent.id } });
      expect(child.config).toEqual({ lr: 0.001, beta1: TRAIN_DEFAULTS.beta1, imageSize: TINY.imageSize });
      await waitForStatus(child.id, ["COMPLETED"]);
      const done = await run(child.id);
      expect(done.metrics.map((m) => m.iteration)).toEqual([1, 2, 3, 4, 5].map((i) => checkpoint.iteration + i));
      expect(done.checkpoints.at(-1)!.iteration).toBe(checkpoint.iteration + 5);
      // The parent's history is its own: untouched by the child's.
      expect((await run(parent.id)).metrics.at(-1)!.iteration).toBe(checkpoint.iteration);
    });

    it("queues runs beyond the concurrency limit and starts them in order; deleteRun removes a run's files", async () => {
      const first = await startRun({ ...TINY, name: "first", iterations: 6 });
      const second = await startRun({ ...TINY, name: "second", iterations: 3 });
      expect(second.status).toBe("QUEUED");
      const done = await waitForStatus(second.id, ["COMPLETED", "FAILED"]);
      expect(done.status).toBe("COMPLETED");
      expect((await run(first.id)).status).toBe("COMPLETED");
      const times = await server.gql<{ a: { finishedAt: string }; b: { startedAt: string } }>(
        `query ($a: ID!, $b: ID!) { a: run(id: $a) { finishedAt } b: run(id: $b) { startedAt } }`,
        { a: first.id, b: second.id },
      );
      expect(Date.parse(times.data!.b.startedAt)).toBeGreaterThanOrEqual(Date.parse(times.data!.a.finishedAt));

      const files = join(server.dataDir, "runs", first.id);
      expect(existsSync(files)).toBe(true);
      const deleted = await server.gql<{ deleteRun: boolean }>(`mutation ($id: ID!) { deleteRun(id: $id) }`, { id: first.id });
      expect(deleted.data?.deleteRun).toBe(true);
      expect(existsSync(files)).toBe(false);
      expect(await run(first.id)).toBeNull();
    });
  });

  describe("threads", () => {
    it("default to the cores but one, shared between the runs that train at once", () => {
      expect([serviceThreads(1, 16), serviceThreads(2, 16), serviceThreads(3, 16), serviceThreads(1, 2), serviceThreads(4, 2)]).toEqual([15, 7, 5, 1, 1]);
    });

    it("are stored with the run, the server's default when none is given, and reach the training process", async () => {
      const fields = "id config { threads } backendDetail";
      const start = async (input: Record<string, unknown>) =>
        (await server.gql<{ startRun: { id: string; config: { threads: number } } }>(`mutation ($input: StartRunInput!) { startRun(input: $input) { ${fields} } }`, { input })).data!.startRun;
      const byDefault = await start({ ...TINY, backend: "WASM", iterations: 1 });
      expect(byDefault.config.threads).toBe(serviceThreads(1));
      const chosen = await start({ ...TINY, backend: "WASM", iterations: 1, threads: 3 });
      expect(chosen.config.threads).toBe(3);
      for (const { id } of [byDefault, chosen]) await waitForStatus(id, ["COMPLETED"]);
      const details = await Promise.all([byDefault, chosen].map(async ({ id }) => (await server.gql<{ run: { backendDetail: string } }>(`query ($id: ID!) { run(id: $id) { backendDetail } }`, { id })).data!.run.backendDetail));
      // Without the native kernels wasm runs one thread, and its detail says why instead.
      if (!/native kernels: oneDNN/.test(details[0]!)) return expect(details[0]).toMatch(/one thread/);
      expect(details.map((detail) => /; (\d+) threads?$/.exec(detail)?.[1])).toEqual([String(serviceThreads(1)), "3"]);
    });
  });

  describe("training process failures", () => {
    it("a killed training process fails its run with a reason; the server goes on and the next queued run starts", async () => {
      const doomed = await startRun({ ...TINY, name: "doomed", iterations: 100_000 });
      const next = await startRun({ ...TINY, name: "next", iterations: 2 });
      await collect<Progress>(server.ws, PROGRESS, { runId: doomed.id, after: 0 }, (events) => events.length >= 2);
      // The training process is this test process's child running the worker module.
      const pids = execFileSync("pgrep", ["-P", String(process.pid), "-f", "training/worker"], { encoding: "utf8" }).trim().split("\n");
      expect(pids).toHaveLength(1);
      process.kill(Number(pids[0]), "SIGKILL");
      const failed = await waitForStatus(doomed.id, ["FAILED"]);
      expect(failed.error).toMatch(/training process killed by SIGKILL/);
      expect((await waitForStatus(next.id, ["COMPLETED", "FAILED"])).status).toBe("COMPLETED");
      expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    });
  });

  describe("bad input", () => {
    const invalid: [string, Record<string, unknown>, string][] = [
      ["image size not 4*2^k", { imageSize: 48 }, "imageSize"],
      ["non-positive batch size", { batchSize: 0 }, "batchSize"],
      ["learning rate out of range", { lr: -1 }, "lr"],
      ["unknown dataset path", { dataset: { kind: "MNIST", path: "/nonexistent/mnist" } }, "dataset.path"],
      ["unavailable backend", { backend: "TENSORFLOW" }, "backend"],
      ["a model too large for the memory budget", { imageSize: 4096 }, "imageSize"],
      ["a batch size beyond any budget", { batchSize: 1e6 }, "batchSize"],
      ["a sample interval of zero", { sampleEvery: 0 }, "sampleEvery"],
      ["a checkpoint interval that is not an integer", { checkpointEvery: 1.5 }, "checkpointEvery"],
    ];

    it.each(invalid)("startRun rejects %s with BAD_USER_INPUT naming the field, storing nothing", async (_name, input, field) => {
      const before = await server.gql<{ runs: { nodes: { id: string }[] } }>(`{ runs(first: 100) { nodes { id } } }`);
      const res = await server.gql(`mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`, { input: { ...TINY, ...input } });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
      expect(res.errors?.[0]?.message).toContain(field);
      const after = await server.gql<{ runs: { nodes: { id: string }[] } }>(`{ runs(first: 100) { nodes { id } } }`);
      expect(after.data?.runs.nodes).toEqual(before.data?.runs.nodes);
    });

    it("confines dataset paths to the data roots, symlinks followed, revealing nothing outside", async () => {
      const message = async (path: string) => {
        const res = await server.gql(`mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`, {
          input: { ...TINY, dataset: { kind: "IMAGE_FOLDER", path } },
        });
        expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "dataset.path" });
        return res.errors![0]!.message;
      };
      // An existing folder and a missing one outside the roots get the same answer.
      const outside = await message("/etc");
      expect(outside).toMatch(/must be inside one of the data roots/);
      expect(await message("/no/such/folder")).toBe(outside);
      expect(await message(join(server.dataDir, "..", "..", "etc"))).toBe(outside);
      // A symlink inside a root that points outside is refused the same way.
      await symlink("/etc", join(server.dataDir, "escape"));
      expect(await message(join(server.dataDir, "escape"))).toBe(outside);
      // Inside a root, a missing folder may say so.
      expect(await message(join(server.dataDir, "missing"))).toMatch(/does not exist/);
    });

    it("rejects actions that do not fit a run's status, and unknown ids", async () => {
      const started = await startRun({ ...TINY, iterations: 2 });
      await waitForStatus(started.id, ["COMPLETED"]);
      const stop = await server.gql(`mutation ($id: ID!) { stopRun(id: $id) { id } }`, { id: started.id });
      expect(stop.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
      const running = await startRun({ ...TINY, iterations: 100_000 });
      await waitForStatus(running.id, ["RUNNING"]);
      for (const action of ["resumeRun(id: $id) { id }", "deleteRun(id: $id)"]) {
        const refused = await server.gql(`mutation ($id: ID!) { ${action} }`, { id: running.id });
        expect(refused.errors?.[0]).toMatchObject({ message: expect.stringMatching(/RUNNING/), extensions: { code: "BAD_USER_INPUT", field: "id" } });
      }
      await server.gql(`mutation ($id: ID!) { stopRun(id: $id) { id } }`, { id: running.id });
      await waitForStatus(running.id, ["STOPPED"]);
      const unknown = await server.gql(`mutation { resumeRun(id: "nope") { id } }`);
      expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
      // Subscribing to an unknown run fails the same way, over WebSocket.
      const stream = server.ws.iterate({ query: `subscription { runProgress(runId: "nope") { iteration } }` });
      expect((await stream.next()).value).toMatchObject({ errors: [{ extensions: { code: "BAD_USER_INPUT", field: "runId" } }] });
      await stream.return?.();
    });
  });

  describe("service surface", () => {
    it("answers health probes and reports the system", async () => {
      expect(await (await fetch(`${server.origin}/healthz`)).json()).toEqual({ ok: true });
      const res = await server.gql<{ system: { version: string; backends: { name: string; available: boolean }[]; datasets: string[] } }>(
        `{ system { version backends { name available detail } datasets maxConcurrentRuns runningRunIds queuedRunIds } }`,
      );
      expect(res.data?.system.backends.map((b) => b.name)).toEqual(["tensorflow", "webgpu", "wasm", "cpu"]);
      expect(res.data?.system.datasets).toContain("SYNTHETIC");
    });

    it("refuses a subscription over HTTP, saying where subscriptions are served", async () => {
      const res = await server.gql(`subscription { runUpdated { id } }`);
      expect(res.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/served over WebSocket .* at \/graphql$/), extensions: { code: "BAD_REQUEST" } }),
      ]);
    });

    it("serves no file the database does not know", async () => {
      expect((await fetch(`${server.origin}/files/samples/..%2F..%2Fetc%2Fpasswd.png`)).status).toBe(404);
      expect((await fetch(`${server.origin}/files/checkpoints/unknown`)).status).toBe(404);
    });

    it("has an up-to-date schema.graphql (npm run schema)", async () => {
      expect(await readFile("schema.graphql", "utf8")).toBe(await schemaSdl());
    });

    it("takes a setting's default, published in the schema, when it is sent as null as when it is left out", async () => {
      const res = await server.gql<{ startRun: { id: string; config: Record<string, unknown> } }>(
        `mutation ($input: StartRunInput!) { startRun(input: $input) { id config { lr epochs dataset { kind } } } }`,
        { input: { ...TINY, iterations: 1, lr: null, epochs: null, dataset: null } },
      );
      expect(res.data?.startRun.config).toEqual({ lr: TRAIN_DEFAULTS.lr, epochs: TRAIN_DEFAULTS.epochs, dataset: { kind: "SYNTHETIC" } });
      await waitForStatus(res.data!.startRun.id, ["COMPLETED"]);
    });
  });
});
