import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { spawnServerProcess } from "../src/process/server-process.js";
import type { GraphQLErrorBody } from "./server-helpers.js";

export interface ServerProcess {
  process: ChildProcess;
  url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** What it wrote to stdout and stderr, apart. */
  streams(): { stdout: string; stderr: string };
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * Ctrl-C in the terminal that runs the server, and waits for the exit code: SIGINT to its
   * whole process group (its training processes too), then the copy that npm forwards to
   * its child where `sh -c` execs the command (as bash does). The server must log at
   * info for the copy to follow the first.
   */
  ctrlC(): Promise<number | null>;
}

/**
 * The environment a user's shell gives the server and the CLI: vitest's NODE_ENV=test
 * (and its own variables) would switch off behaviour users get, such as Apollo's
 * signal handlers, and so hide bugs that only they see.
 */
export function userEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "NODE_ENV" && !name.startsWith("VITEST")));
  return { ...inherited, ...env };
}

/**
 * The real server as its own process, as `npm start` runs it. `wrapper` is a command
 * line the server's is appended to (e.g. `unshare` to give it its own mounts).
 */
export async function spawnServer(env: Record<string, string>, wrapper: string[] = []): Promise<ServerProcess> {
  let output = "";
  const streams = { stdout: "", stderr: "" };
  const stdoutListeners = new Set<(line: string) => void>();
  const child = await spawnServerProcess({
    command: [...wrapper, process.execPath, "--import", "tsx", "src/server/main.ts"],
    env: userEnv({ LOG_LEVEL: "warn", ...env }),
    detached: true,
    onStdout: (line) => {
      output += `${line}\n`;
      streams.stdout += `${line}\n`;
      for (const listener of stdoutListeners) listener(line);
    },
    onStderr: (line) => {
      output += `${line}\n`;
      streams.stderr += `${line}\n`;
    },
  });
  return {
    process: child.process,
    url: child.url,
    output: () => output,
    streams: () => streams,
    stop: async (signal = "SIGTERM") => (await child.stop(signal)).code,
    ctrlC: async () => {
      const shuttingDown = new Promise<void>((resolve) => stdoutListeners.add((line) => line.includes("shutting down") && resolve()));
      process.kill(-child.pid, "SIGINT");
      // npm's copy arrives once the server has taken the first (needs LOG_LEVEL info to see it).
      await Promise.race([shuttingDown, child.exited]);
      if (child.process.exitCode === null) child.process.kill("SIGINT");
      return (await child.exited).code;
    },
  };
}

export interface GraphQLResponse<T> {
  data?: T;
  errors?: GraphQLErrorBody[];
}

/** One GraphQL request over HTTP: the whole response, errors included (they do not throw). TestServer.gql is this. */
export async function postGraphQL<T>(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as GraphQLResponse<T>;
}

/** One GraphQL request over HTTP, for its data: GraphQL errors throw. */
export async function gqlData<T>(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<T> {
  const body = await postGraphQL<T>(url, query, variables, headers);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data as T;
}

/** Iterations of the run from `after` on, until `enough` of them arrived. */
export async function progress(url: string, runId: string, after: number, enough: number): Promise<number[]> {
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

/**
 * Waits (on runUpdated events, not by polling) until the run reaches one of `statuses`:
 * the subscription starts with the run's current state, so a status already reached is
 * not missed. Works with a spawned server and a TestServer (its service.url) alike.
 */
export function waitForStatus<T extends { status: string }>(url: string, runId: string, statuses: string[], fields = "status error"): Promise<T> {
  return updatesUntil<T>(url, runId, fields, (run) => statuses.includes(run.status), statuses.join("/"));
}

/** Waits (on runUpdated events, not by polling) until an update of the run's `fields` satisfies `until`. */
export async function updatesUntil<T>(url: string, runId: string, fields: string, until: (run: T) => boolean, what = "the awaited state"): Promise<T> {
  const client = createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket });
  try {
    for await (const r of client.iterate<{ runUpdated: T }>({ query: `subscription { runUpdated(runId: "${runId}") { ${fields} } }` })) {
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      if (until(r.data!.runUpdated)) return r.data!.runUpdated;
    }
    throw new Error(`run ${runId} updates ended before reaching ${what}`);
  } finally {
    await client.dispose();
  }
}

export interface WorkerProcess {
  process: ChildProcess;
  /** Its id, as `Query.workers` lists it. */
  id: string;
  output(): string;
  /** Sends `signal` and waits for its exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `dcgan worker` as its own process, as a user starts it; resolves once it takes runs (its banner). */
export async function spawnWorker(env: Record<string, string>, args: string[] = []): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "worker", ...args], { env: userEnv({ LOG_LEVEL: "warn", ...env }), stdio: ["ignore", "pipe", "pipe"] });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));
  let output = "";
  createInterface({ input: child.stderr! }).on("line", (line) => (output += `${line}\n`));
  const id = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      const banner = /^DCGAN worker (\S+):/.exec(line);
      if (banner) resolve(banner[1]!);
    });
    void exited.then((code) => reject(new Error(`the worker exited (${code}) before taking runs:\n${output}`)));
  });
  return {
    process: child,
    id,
    output: () => output,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
