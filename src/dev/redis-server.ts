/**
 * A throwaway redis-server as a child process, for the tests and the bench: on a free
 * port of 127.0.0.1, with its append-only file in a fresh folder, so that a restart
 * (SIGTERM, which writes the file out, then a start on the same port and folder) finds
 * its data again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** Stops it (SIGTERM) and starts it again on the same port and folder: what was written survives. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

/** How long a start may take before it fails: this many connection attempts, this far apart. */
const START_ATTEMPTS = 200;
const ATTEMPT_INTERVAL_MS = 50;

export async function startRedisServer(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "dcgan-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const log = join(dir, "redis.log");
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", dir, "--logfile", log];
  let child = await start(args, url, log);
  // A test run that dies must not leave servers behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const terminate = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  };
  return {
    url,
    async restart() {
      await terminate();
      child = await start(args, url, log);
    },
    async stop() {
      process.off("exit", killOnExit);
      await terminate();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts redis-server and resolves once it answers PING (its data loaded), or fails saying why. */
async function start(args: string[], url: string, log: string): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  const exited = once(child, "exit").then(
    async () => {
      const output = await readFile(log, "utf8").catch(() => "");
      throw new Error(`redis-server exited before answering:\n${output.split("\n").slice(-10).join("\n")}`);
    },
    (err: NodeJS.ErrnoException) => {
      throw err.code === "ENOENT" ? new Error("redis-server is not installed (apt-get install redis-server)") : err;
    },
  );
  // Once it answers, its exit is stop()'s business, not a failed start.
  exited.catch(() => undefined);
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => (attempt < START_ATTEMPTS ? ATTEMPT_INTERVAL_MS : null),
  });
  // Refused connections until it listens are expected; the last one fails the PING.
  client.on("error", () => undefined);
  try {
    await Promise.race([client.ping(), exited]);
    return child;
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  } finally {
    client.disconnect();
  }
}
