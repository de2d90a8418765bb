import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { BUILT_SERVER, type ServerChild, spawnServerProcess } from "../process/server-process.js";
import { log } from "./format.js";

export interface StressServer {
  child: ServerChild;
  pid: number;
  url: string;
  /** Its warn and error log lines and stderr lines, by kind. */
  logCounts: Map<string, number>;
  logExamples: string[];
  /** Its inspector's WebSocket URL. */
  inspectorUrl: Promise<string>;
}

/** The built server with its inspector, its data in `dataDir`, its output in server.log there; its warnings and errors counted. */
export async function startServer(dataDir: string, port: number): Promise<StressServer> {
  const logCounts = new Map<string, number>();
  const logExamples: string[] = [];
  const logFile = createWriteStream(join(dataDir, "server.log"));
  const note = (kind: string, line: string) => {
    logFile.write(`${kind}: ${line}\n`);
    logCounts.set(kind, (logCounts.get(kind) ?? 0) + 1);
    if (logExamples.length < 10) {
      logExamples.push(`${kind}: ${line.slice(0, 300)}`);
      log(`server ${kind}: ${line.slice(0, 300)}`);
    }
  };
  let foundInspector: (url: string) => void = () => undefined;
  const inspectorUrl = new Promise<string>((resolve) => (foundInspector = resolve));
  const child = await spawnServerProcess({
    // The inspector (on loopback, any free port) lets the heap probe collect garbage and read the live heap.
    command: [process.execPath, "--inspect=127.0.0.1:0", BUILT_SERVER],
    port,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: `file:${join(dataDir, "dcgan.db")}`,
      LOG_LEVEL: "warn",
      // All the stress clients come from 127.0.0.1.
      MAX_CONNECTIONS_PER_ADDRESS: "1000",
    },
    // Should this process die before stopping the server, the server goes too.
    killOnExit: true,
    onStderr: (line) => {
      const inspector = /^Debugger listening on (ws:\S+)/.exec(line)?.[1];
      if (inspector) return foundInspector(inspector);
      if (/^For help, see: https:\/\/nodejs.org|^Debugger (attached|ending)|^Waiting for the debugger/.test(line)) return;
      note("stderr", line);
    },
    onStdout: (line) => {
      if (/GraphiQL at \S+/.test(line)) return;
      let level = "stdout";
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string };
        level = entry.level === undefined ? "log" : entry.level >= 60 ? "fatal" : entry.level >= 50 ? "error" : entry.level >= 40 ? "warn" : "log";
      } catch {
        // not a pino line
      }
      note(level, line);
    },
  }).catch((err: unknown) => {
    logFile.end();
    throw err;
  });
  void child.exited.then(() => logFile.end());
  return { child, pid: child.pid, url: child.url, logCounts, logExamples, inspectorUrl };
}

/** SIGTERM, then SIGKILL after 20 s; its exit code or signal. */
export async function stopServer(server: StressServer): Promise<number | string | null> {
  const { code, signal } = await server.child.stop("SIGTERM", 20_000);
  return code ?? signal;
}
