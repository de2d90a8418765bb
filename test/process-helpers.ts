import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

export interface ServerProcess {
  process: ChildProcess;
  url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The real server as its own process, as `npm start` runs it. `wrapper` is a command
 * line the server's is appended to (e.g. `unshare` to give it its own mounts).
 */
export async function spawnServer(env: Record<string, string>, wrapper: string[] = []): Promise<ServerProcess> {
  const command = [...wrapper, process.execPath, "--import", "tsx", "src/server/main.ts", "--port", "0"];
  const child = spawn(command[0]!, command.slice(1), { env: { ...process.env, LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const exited = once(child, "exit");
  for await (const line of createInterface({ input: child.stdout! })) {
    output += `${line}\n`;
    const url = /GraphiQL at (\S+)/.exec(line)?.[1];
    if (url) {
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
      return {
        process: child,
        url,
        output: () => output,
        stop: async (signal = "SIGTERM") => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          const [code] = await exited;
          return code as number | null;
        },
      };
    }
  }
  throw new Error(`server exited before printing its URL:\n${output}`);
}

/** One GraphQL request over HTTP; errors throw. */
export async function gql<T>(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
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

/** Waits (on runUpdated events, not by polling) until the run reaches one of `statuses`. */
export async function waitForStatus<T extends { status: string }>(url: string, runId: string, statuses: string[], fields = "status error"): Promise<T> {
  const client = createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket });
  try {
    for await (const r of client.iterate<{ runUpdated: T }>({ query: `subscription { runUpdated(runId: "${runId}") { ${fields} } }` })) {
      if (statuses.includes(r.data!.runUpdated.status)) return r.data!.runUpdated;
    }
    throw new Error(`run ${runId} updates ended before reaching ${statuses.join("/")}`);
  } finally {
    await client.dispose();
  }
}
