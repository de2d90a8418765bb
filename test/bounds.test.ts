// What a client can make the server hold: runs waiting in the queue, generate renders
// and their memory, and what validating a dataset reads. Each bound is set low here.
import { mkdir, open, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir, TINY_RUN } from "./helpers.js";
import { waitForStatus } from "./process-helpers.js";
import { collect, startTestServer, type GraphQLErrorBody, type TestServer } from "./server-helpers.js";

const LIMITS = { maxQueuedRuns: 2, maxConcurrentGenerates: 1, memoryBudgetMb: 2 };
/** Fits the 2 MiB budget to train (about 0.5 MiB); 1024 images from it do not (about 10 MiB). */
const LONG = { ...TINY_RUN, iterations: 1_000_000, sampleEvery: 100_000, checkpointEvery: 100_000 };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ maxConcurrentRuns: 1, limits: LIMITS });
});

async function startRun(input: Record<string, unknown>): Promise<{ id?: string; error?: GraphQLErrorBody }> {
  const res = await server.gql<{ startRun: { id: string } }>(`mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`, { input });
  return { id: res.data?.startRun.id, error: res.errors?.[0] };
}

async function started(input: Record<string, unknown>): Promise<string> {
  const { id, error } = await startRun(input);
  if (!id) throw new Error(JSON.stringify(error));
  return id;
}

async function mutate(mutation: string, id: string): Promise<{ status?: string; error?: GraphQLErrorBody }> {
  const res = await server.gql<Record<string, { status: string }>>(`mutation ($id: ID!) { ${mutation}(id: $id) { status } }`, { id });
  return { status: res.data && Object.values(res.data)[0]?.status, error: res.errors?.[0] };
}

async function runIds(): Promise<{ all: string[]; queued: string[] }> {
  const res = await server.gql<{ runs: { nodes: { id: string }[] }; system: { queuedRunIds: string[] } }>(
    `{ runs(first: 100) { nodes { id } } system { queuedRunIds } }`,
  );
  return { all: res.data!.runs.nodes.map((n) => n.id).sort(), queued: [...res.data!.system.queuedRunIds].sort() };
}

/** The most memory this process (the server is in it) has held so far, in bytes. */
async function peakRss(): Promise<number> {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(await readFile("/proc/self/status", "utf8"))?.[1];
  return Number(kib) * 1024;
}

describe("the queue", () => {
  it("refuses startRun and resumeRun past MAX_QUEUED_RUNS, storing nothing, and takes them again when there is room", async () => {
    // A stopped run with a checkpoint, to resume later.
    const resumable = await started(LONG);
    await collect(server.ws, `subscription ($id: ID!) { runProgress(runId: $id) { iteration } }`, { id: resumable }, (events) => events.length >= 1);
    await mutate("stopRun", resumable);
    await waitForStatus(server.service.url, resumable, ["STOPPED"]);

    const training = await started(LONG);
    await waitForStatus(server.service.url, training, ["RUNNING"]);
    const waiting = [await started(LONG), await started(LONG)];
    const before = await runIds();
    expect(before.queued).toEqual([...waiting].sort());

    const refused = await startRun(LONG);
    expect(refused.error).toMatchObject({ message: expect.stringMatching(/MAX_QUEUED_RUNS/), extensions: { code: "BAD_USER_INPUT", field: "startRun" } });
    const resume = await mutate("resumeRun", resumable);
    expect(resume.error).toMatchObject({ message: expect.stringMatching(/MAX_QUEUED_RUNS/), extensions: { code: "BAD_USER_INPUT", field: "resumeRun" } });
    expect(await runIds()).toEqual(before);

    // Stopping a queued run frees its place, and resumeRun takes it.
    expect((await mutate("stopRun", waiting[0]!)).status).toBe("STOPPED");
    expect((await mutate("resumeRun", resumable)).status).toBe("QUEUED");
    expect((await startRun(LONG)).error?.extensions?.field).toBe("startRun");

    for (const id of [resumable, waiting[1]!, training]) await mutate("stopRun", id);
    await waitForStatus(server.service.url, training, ["STOPPED"]);
  });
});

describe("generate", () => {
  let checkpointId = "";
  beforeAll(async () => {
    const id = await started({ ...TINY_RUN, iterations: 1 });
    await waitForStatus(server.service.url, id, ["COMPLETED"]);
    const res = await server.gql<{ run: { checkpoints: { id: string }[] } }>(`query ($id: ID!) { run(id: $id) { checkpoints { id } } }`, { id });
    checkpointId = res.data!.run.checkpoints[0]!.id;
  });

  const generate = async (count: number) => {
    const res = await server.gql<{ generate: { kind: string } }>(`mutation ($id: ID!, $count: Int) { generate(checkpointId: $id, count: $count) { kind } }`, {
      id: checkpointId,
      count,
    });
    return { kind: res.data?.generate.kind, error: res.errors?.[0] };
  };

  it("refuses more images than MEMORY_BUDGET_MB allows, saying how many fit", async () => {
    const refused = await generate(1024);
    expect(refused.error).toMatchObject({
      message: expect.stringMatching(/more than the server's budget of 2 MiB \(MEMORY_BUDGET_MB\): at most \d+ fit/),
      extensions: { code: "BAD_USER_INPUT", field: "count" },
    });
    const fit = Number(/at most (\d+) fit/.exec(refused.error!.message)![1]);
    expect(fit).toBeGreaterThan(64);
    expect(fit).toBeLessThan(1024);
    expect((await generate(fit)).kind).toBe("GENERATED");
    expect((await generate(fit + 1)).error?.extensions?.field).toBe("count");
  });

  it("renders at most MAX_CONCURRENT_GENERATES at once, refusing the others, and takes new ones once they finish", async () => {
    const both = await Promise.all([generate(8), generate(8)]);
    expect(both.filter((r) => r.kind === "GENERATED")).toHaveLength(1);
    expect(both.find((r) => r.error)?.error).toMatchObject({
      message: expect.stringMatching(/MAX_CONCURRENT_GENERATES/),
      extensions: { code: "BAD_USER_INPUT", field: "generate" },
    });
    expect((await generate(8)).kind).toBe("GENERATED");
  });
});

describe("dataset validation", () => {
  it("reads an IDX file's header and length only: a 1.5 GB file leaves the server's memory as it was", async () => {
    const dir = join(server.dataDir, "huge");
    await mkdir(dir);
    const header = Buffer.alloc(16);
    [0x803, 2_000_000, 28, 28].forEach((v, i) => header.writeUInt32BE(v, i * 4));
    // Sparse: 1.5 GB long, a few KB on disk; 2,000,000 images of 28x28 would need 1.57 GB.
    const file = await open(join(dir, "train-images-idx3-ubyte"), "w");
    await file.write(header, 0, 16, 0);
    await file.truncate(1_500_000_000);
    await file.close();

    const before = await peakRss();
    const { error } = await startRun({ ...TINY_RUN, dataset: { kind: "MNIST", path: dir } });
    expect(error).toMatchObject({ message: expect.stringContaining("truncated: 2000000 images of 28x28"), extensions: { code: "BAD_USER_INPUT", field: "dataset.path" } });
    expect((await peakRss()) - before).toBeLessThan(200 * 2 ** 20);
  });

  it("refuses an image folder with a link that leads outside the data roots, naming the link, not its target", async () => {
    const outside = await tempDir();
    await writeFile(join(outside, "private.png"), await sharp({ create: { width: 8, height: 8, channels: 3, background: "#fff" } }).png().toBuffer());
    const dir = join(server.dataDir, "linked");
    await mkdir(dir);
    await writeFile(join(dir, "own.png"), await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } }).png().toBuffer());
    await symlink(outside, join(dir, "more"));
    const before = await runIds();

    const { error } = await startRun({ ...TINY_RUN, dataset: { kind: "IMAGE_FOLDER", path: dir } });
    expect(error).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "dataset.path" } });
    expect(error!.message).toContain(`${join(dir, "more")}: leads outside the data roots`);
    expect(error!.message).not.toContain(outside);
    expect(await runIds()).toEqual(before);
  });

  it("confines the training process too: a link added after startRun, while the run waited, fails the run instead of being read", async () => {
    const outside = await tempDir();
    await writeFile(join(outside, "private.png"), await sharp({ create: { width: 8, height: 8, channels: 3, background: "#fff" } }).png().toBuffer());
    const dir = join(server.dataDir, "linked-later");
    await mkdir(dir);
    for (const name of ["a.png", "b.png", "c.png", "d.png"]) {
      await writeFile(join(dir, name), await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } }).png().toBuffer());
    }
    const blocker = await started(LONG);
    const waiting = await started({ ...TINY_RUN, iterations: 1, dataset: { kind: "IMAGE_FOLDER", path: dir } });
    await symlink(outside, join(dir, "more"));
    await mutate("stopRun", blocker);
    const failed = await waitForStatus<{ status: string; error: string }>(server.service.url, waiting, ["FAILED", "COMPLETED"]);
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toContain(`${join(dir, "more")}: leads outside the data roots`);
  });
});
