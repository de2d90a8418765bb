/**
 * A throwaway PostgreSQL server, for the tests and the bench: a new cluster in a fresh
 * folder, on a free port of 127.0.0.1 with its socket in that folder, fsync off (its
 * data is not meant to outlive it). As root it runs as the `postgres` user, since
 * PostgreSQL refuses to run as root.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

export interface PostgresServer {
  /** postgresql://postgres@127.0.0.1:<port>/<database> */
  url(database: string): string;
  /** Creates a database, a copy of `template` when given (nobody may be connected to that one); its URL. */
  createDatabase(name: string, template?: string): Promise<string>;
  /** Stops it (closing every connection) and starts it again on the same port: what was written survives. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** Debian's packages install each major version's server binaries here, outside PATH. */
const DEBIAN_BINARIES = "/usr/lib/postgresql";
/** Starts on a free port, which another process may take meanwhile: this many tries. */
const START_ATTEMPTS = 3;
/** The role initdb creates, which the URLs name. */
const SUPERUSER = "postgres";

/** A command line: the file to run and its arguments. */
type Command = [file: string, args: string[]];

export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = serverBinaries();
  const dir = await mkdtemp(join(tmpdir(), "dcgan-postgres-"));
  try {
    const asServerUser = await serverUser(dir);
    const data = join(dir, "data");
    const log = join(dir, "server.log");
    const pgCtl = (...args: string[]) => asServerUser([join(bin, "pg_ctl"), ["-D", data, ...args]]);
    // --no-sync and fsync=off: no durability is wanted from a server this short-lived.
    await explainedRun(asServerUser([join(bin, "initdb"), ["-D", data, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]]));
    const port = await startOnFreePort(log, (port) => {
      const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      return explainedRun(pgCtl("-l", log, "-o", settings, "-w", "start"));
    });
    // A test run that dies must not leave servers behind.
    const stopOnExit = () => {
      execFileSync(...pgCtl("-m", "immediate", "stop"), { stdio: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    };
    process.once("exit", stopOnExit);
    const url = (database: string) => `postgresql://${SUPERUSER}@127.0.0.1:${port}/${database}`;
    return {
      url,
      async createDatabase(name, template) {
        const client = new pg.Client({ connectionString: url("postgres") });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE "${name}"${template === undefined ? "" : ` TEMPLATE "${template}"`}`);
        } finally {
          await client.end();
        }
        return url(name);
      },
      async restart() {
        // pg_ctl restart starts it with the settings it was started with (postmaster.opts).
        await explainedRun(pgCtl("-l", log, "-m", "fast", "-w", "restart"));
      },
      async stop() {
        process.off("exit", stopOnExit);
        await explainedRun(pgCtl("-m", "fast", "-w", "stop"));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** How to run the server's commands: as the current user, or as `postgres` (given `dir`) when root. */
async function serverUser(dir: string): Promise<(command: Command) => Command> {
  if (process.getuid?.() !== 0) return (command) => command;
  let uid: number;
  try {
    uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
  } catch {
    throw new Error('PostgreSQL refuses to run as root, and there is no "postgres" user to run it as (the postgresql package creates one)');
  }
  await chown(dir, uid, uid);
  return ([file, args]) => ["runuser", ["-u", "postgres", "--", file, ...args]];
}

/** Runs a command; a failure says what ran and what it printed. */
async function explainedRun([file, args]: Command): Promise<void> {
  try {
    await run(file, args);
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    throw new Error(`${[file, ...args].join(" ")} failed:\n${`${stdout}${stderr}`.trim() || String(err)}`, { cause: err });
  }
}

/** The folder of initdb and pg_ctl: Debian's newest version's, or the one on PATH. */
function serverBinaries(): string {
  const versions = existsSync(DEBIAN_BINARIES) ? readdirSync(DEBIAN_BINARIES).filter((v) => /^\d+$/.test(v)) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  const candidates = [...versions.map((v) => join(DEBIAN_BINARIES, v, "bin")), ...(process.env.PATH ?? "").split(":").filter(Boolean)];
  const found = candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")));
  if (found === undefined) {
    throw new Error(`The PostgreSQL server (initdb, pg_ctl) is not installed: not in ${DEBIAN_BINARIES}/*/bin nor on PATH (apt-get install postgresql)`);
  }
  return found;
}

/** The port it started on; after the last failed try, that failure with the end of the server's log. */
async function startOnFreePort(log: string, start: (port: number) => Promise<void>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await start(port);
      return port;
    } catch (err) {
      if (attempt === START_ATTEMPTS) {
        const output = await readFile(log, "utf8").catch(() => "");
        throw new Error(`${(err as Error).message}\nserver log:\n${output.split("\n").slice(-10).join("\n")}`, { cause: err });
      }
    }
  }
}
