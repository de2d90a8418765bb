// Faults injected for real: a shutdown mid-run, a model that cannot be allocated, a full
// disk and a read-only one (tmpfs mounts in the server's own mount namespace), a process
// killed in the middle of writing a file.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { watch } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../src/engine/checkpoint.js";
import { tempDir, TINY_RUN } from "./helpers.js";
import { gqlData, progress, type ServerProcess, spawnServer, waitForStatus } from "./process-helpers.js";
import { startTestServer } from "./server-helpers.js";
import { freshDatabase } from "./store-helpers.js";

const TINY = { ...TINY_RUN, sampleEvery: 100_000 };
const START = `mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`;

interface Run {
  status: string;
  iteration: number;
  error: string | null;
  checkpoints: { id: string; iteration: number; downloadUrl: string }[];
}
const RUN = `query ($id: ID!) { run(id: $id) { status iteration error checkpoints { id iteration downloadUrl } } }`;

describe("shutdown", () => {
  it("refuses new runs, interrupts running ones at an iteration boundary with a checkpoint, and completes their streams", async () => {
    const server = await startTestServer();
    const { data } = await server.gql<{ startRun: { id: string } }>(START, { input: { ...TINY, iterations: 100_000, checkpointEvery: 100_000 } });
    const runId = data!.startRun.id;
    const seen: number[] = [];
    let shutdown: Promise<void> | undefined;
    for await (const result of server.ws.iterate<{ runProgress: { iteration: number } }>({ query: `subscription { runProgress(runId: "${runId}") { iteration } }` })) {
      expect(result.errors).toBeUndefined();
      seen.push(result.data!.runProgress.iteration);
      if (seen.length === 3) shutdown = server.service.runs.shutdown();
    }
    // The loop ended because the stream completed, not because of an error.
    await shutdown;
    const { run } = (await server.gql<{ run: Run }>(RUN, { id: runId })).data!;
    expect(run.status).toBe("INTERRUPTED");
    expect(seen).toEqual(Array.from({ length: run.iteration }, (_, i) => i + 1));
    expect(run.checkpoints.map((c) => c.iteration)).toEqual([run.iteration]);
    const refused = await server.gql(START, { input: TINY });
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringMatching(/shutting down/), extensions: { code: "BAD_USER_INPUT" } });
  });
});

describe("out of memory", () => {
  it("a model too large to allocate fails its run with advice; the server goes on and the next queued run starts", async () => {
    // A budget that lets the model through, so that the training process meets the limit itself.
    const server = await startTestServer({ limits: { memoryBudgetMb: 2 ** 40 } });
    const huge = await server.gql<{ startRun: { id: string } }>(START, { input: { ...TINY, imageSize: 2 ** 20, iterations: 1 } });
    const next = await server.gql<{ startRun: { id: string } }>(START, { input: { ...TINY, iterations: 2 } });
    const failed = await waitForStatus<Run>(server.service.url, huge.data!.startRun.id, ["FAILED", "COMPLETED"]);
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toMatch(/^ran out of memory \(.+\): lower batchSize, imageSize, ngf or ndf$/);
    expect((await waitForStatus<Run>(server.service.url, next.data!.startRun.id, ["FAILED", "COMPLETED"])).status).toBe("COMPLETED");
  });
});

/**
 * The server in its own user and mount namespaces (no root needed) with a tmpfs of
 * `mountOptions` over its data folder; the database stays outside.
 */
async function serverOnTmpfs(mountOptions: string): Promise<ServerProcess> {
  const dataDir = await tempDir();
  const wrapper = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && exec "$@"', "sh", mountOptions, dataDir];
  return spawnServer({ DATA_DIR: dataDir, DATABASE_URL: await freshDatabase() }, wrapper);
}

async function startRun(server: ServerProcess, input: Record<string, unknown>): Promise<string> {
  return (await gqlData<{ startRun: { id: string } }>(server.url, START, { input })).startRun.id;
}

describe("file system faults", () => {
  it("a full disk fails the run naming the file; earlier checkpoints stay complete and the run resumes from the latest", async () => {
    const server = await serverOnTmpfs("size=1m");
    try {
      // A first run's checkpoints take part of the disk; deleting it later frees that part.
      const filler = await startRun(server, { ...TINY, iterations: 6, checkpointEvery: 1 });
      expect((await waitForStatus<Run>(server.url, filler, ["COMPLETED", "FAILED"])).status).toBe("COMPLETED");
      const runId = await startRun(server, { ...TINY, iterations: 100_000, checkpointEvery: 1 });
      const failed = await waitForStatus<Run>(server.url, runId, ["FAILED", "COMPLETED"]);
      expect(failed.error).toMatch(/^cannot write \/.+: the disk is full \(no space left on device\)$/);

      const { run } = await gqlData<{ run: Run }>(server.url, RUN, { id: runId });
      expect(run.checkpoints.length).toBeGreaterThan(1);
      const downloads = await tempDir();
      for (const checkpoint of run.checkpoints) {
        const file = join(downloads, checkpoint.id);
        await writeFile(file, new Uint8Array(await (await fetch(new URL(checkpoint.downloadUrl, server.url))).arrayBuffer()));
        expect((await loadCheckpoint(file)).iteration).toBe(checkpoint.iteration);
      }

      await gqlData(server.url, `mutation { deleteRun(id: "${filler}") }`);
      await gqlData(server.url, `mutation { resumeRun(id: "${runId}") { id } }`);
      const latest = run.checkpoints.at(-1)!.iteration;
      expect(await progress(server.url, runId, latest, 2)).toEqual([latest + 1, latest + 2]);
    } finally {
      await server.stop("SIGKILL");
    }
  });

  it("a read-only data folder fails the run with a clear error, and the server goes on", async () => {
    const server = await serverOnTmpfs("ro,size=1m");
    try {
      const runId = await startRun(server, { ...TINY, iterations: 2 });
      const failed = await waitForStatus<Run>(server.url, runId, ["FAILED", "COMPLETED"]);
      expect(failed.error).toMatch(/^cannot write \/.+: the file system is read-only$/);
      expect((await fetch(new URL("/healthz", server.url))).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("a process killed while writing a file leaves only a temporary file, never one that looks complete", async () => {
    const dir = await tempDir();
    const target = join(dir, "big.ckpt");
    // 256 MiB takes long enough to write that the kill lands mid-write.
    const watcher = watch(dir);
    const writer = spawn(
      process.execPath,
      ["--import", "tsx", "-e", `import { writeFileAtomic } from "./src/engine/files.ts"; await writeFileAtomic(${JSON.stringify(target)}, new Uint8Array(2 ** 28).fill(7));`],
      { stdio: "inherit" },
    );
    const exited = once(writer, "exit");
    // The temporary file appears: the write has begun.
    const [, filename] = (await once(watcher, "change")) as [string, string];
    expect(filename).toMatch(/^big\.ckpt\.tmp-/);
    writer.kill("SIGKILL");
    await exited;
    watcher.close();
    const left = await readdir(dir);
    expect(left).not.toContain("big.ckpt");
    expect(left).toEqual([expect.stringMatching(/^big\.ckpt\.tmp-\d+-[0-9a-f]{8}$/)]);
  });
});
