import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createClient } from "graphql-ws";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { tempDir } from "./helpers.js";
import { freshDatabase } from "./store-helpers.js";

const RUN = `mutation { startRun(input: { imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, iterations: 100000, checkpointEvery: 3, sampleEvery: 1000, backend: CPU }) { id } }`;

interface Server {
  process: ChildProcess;
  url: string;
}

/** The real server as its own process, as `npm start` runs it. */
async function startServer(dataDir: string, databaseUrl: string): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts", "--port", "0"], {
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /GraphiQL at (\S+)/.exec(line)?.[1];
    if (url) return { process: child, url };
  }
  throw new Error("server exited before printing its URL");
}

async function gql<T>(url: string, query: string): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Iterations of the run from `after` on, until `enough` of them arrived. */
async function progress(url: string, runId: string, after: number, enough: number): Promise<number[]> {
  const client = createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket });
  const seen: number[] = [];
  for await (const r of client.iterate<{ runProgress: { iteration: number } }>({
    query: `subscription { runProgress(runId: "${runId}", after: ${after}) { iteration } }`,
  })) {
    seen.push(r.data!.runProgress.iteration);
    if (seen.length >= enough) break;
  }
  await client.dispose();
  return seen;
}

interface RunState {
  run: { status: string; iteration: number; error: string | null; checkpoints: { iteration: number }[]; metrics: { iteration: number }[] };
}
const STATE = (id: string) => `{ run(id: "${id}") { status iteration error checkpoints { iteration } metrics { iteration } } }`;

describe("server restarts", () => {
  it("SIGTERM interrupts a training run at an iteration boundary with a checkpoint and exits 0; resume continues", async () => {
    const dataDir = await tempDir();
    const db = await freshDatabase();
    const first = await startServer(dataDir, db);
    const { startRun } = await gql<{ startRun: { id: string } }>(first.url, RUN);
    await progress(first.url, startRun.id, 0, 4);
    first.process.kill("SIGTERM");
    const [code] = await once(first.process, "exit");
    expect(code).toBe(0);

    const second = await startServer(dataDir, db);
    try {
      const { run } = await gql<RunState>(second.url, STATE(startRun.id));
      expect(run.status).toBe("INTERRUPTED");
      expect(run.checkpoints.at(-1)!.iteration).toBe(run.iteration);
      expect(run.metrics.map((m) => m.iteration)).toEqual(Array.from({ length: run.iteration }, (_, i) => i + 1));
      await gql(second.url, `mutation { resumeRun(id: "${startRun.id}") { id } }`);
      expect(await progress(second.url, startRun.id, run.iteration, 2)).toEqual([run.iteration + 1, run.iteration + 2]);
    } finally {
      second.process.kill("SIGTERM");
      await once(second.process, "exit");
    }
  });

  it("after SIGKILL the run is INTERRUPTED, its stored metrics and checkpoints intact, and resumable", async () => {
    const dataDir = await tempDir();
    const db = await freshDatabase();
    const first = await startServer(dataDir, db);
    const { startRun } = await gql<{ startRun: { id: string } }>(first.url, RUN);
    await progress(first.url, startRun.id, 0, 8);
    first.process.kill("SIGKILL");
    await once(first.process, "exit");

    const second = await startServer(dataDir, db);
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
      second.process.kill("SIGTERM");
      await once(second.process, "exit");
    }
  });
});
