/**
 * The server (`dcgan-server`) as a child process, for the tools that drive it from
 * outside (`npm run stress`, `npm run bench`) and for the tests: spawn it, read its
 * output line by line, and take its URL from the banner it prints once listening.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The built server's entry point (dist/server/main.js, next to this file's dist/process). */
export const BUILT_SERVER = fileURLToPath(new URL("../server/main.js", import.meta.url));

/** What src/server/main.ts prints once it listens: "... GraphQL and GraphiQL at <url>". */
const BANNER = /GraphiQL at (\S+)/;

/** How long the lines a server wrote before exiting may take to arrive after its exit. */
const LAST_LINES_MS = 1000;

export interface ServerSpawnOptions {
  /** The command that runs the server, `--port` excluded: e.g. [process.execPath, BUILT_SERVER]. */
  command: readonly string[];
  /** 0 (the default): any free port. */
  port?: number;
  /** Its whole environment. */
  env: NodeJS.ProcessEnv;
  /** Its own process group, as a terminal gives a command it runs. */
  detached?: boolean;
  /** Kill it (SIGKILL) should this process exit first. */
  killOnExit?: boolean;
  /** Every line it writes to stdout, the banner included, and to stderr. Both pipes are read to the end: a full pipe would block it. */
  onStdout?(line: string): void;
  onStderr?(line: string): void;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerChild {
  process: ChildProcess;
  pid: number;
  /** Its GraphQL endpoint, from the banner. */
  url: string;
  exited: Promise<ExitStatus>;
  /** Sends `signal` (unless it has exited already) and waits for its exit; SIGKILL after `killAfterMs` when given. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<ExitStatus>;
}

/** Spawns the server and waits for its banner; rejects, with what it wrote, when it exits first. */
export async function spawnServerProcess(options: ServerSpawnOptions): Promise<ServerChild> {
  const [file, ...args] = options.command;
  if (file === undefined) throw new Error("no command to run the server");
  const child = spawn(file, [...args, "--port", String(options.port ?? 0)], {
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  const exited = once(child, "exit").then(([code, signal]) => ({ code, signal }) as ExitStatus);
  if (options.killOnExit) {
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    void exited.then(() => process.off("exit", killOnExit));
  }
  // What it wrote until the banner, for the error should it exit first.
  let before: string[] | undefined = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    before?.push(line);
    options.onStderr?.(line);
  });
  const stdout = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (why: string) => before && reject(new Error(`the server ${why} before printing its URL:\n${before.join("\n")}`));
    stdout.on("line", (line) => {
      options.onStdout?.(line);
      if (!before) return;
      before.push(line);
      const url = BANNER.exec(line)?.[1];
      if (url) {
        before = undefined;
        resolve(url);
      }
    });
    stdout.once("close", () => fail("closed its output"));
    void exited.then(({ code, signal }) => setTimeout(() => fail(`exited (${signal ?? code})`), LAST_LINES_MS).unref());
  });
  return {
    process: child,
    pid: child.pid!,
    url,
    exited,
    stop: async (signal = "SIGTERM", killAfterMs) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      const status = await exited;
      clearTimeout(timer);
      return status;
    },
  };
}
