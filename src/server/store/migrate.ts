// Brings a database up to the committed migrations at startup: prisma/migrations for
// SQLite, prisma/postgresql/migrations for PostgreSQL (prisma.config.ts picks them by the URL).
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** src/server/store/ and dist/server/store/ both sit three levels below the package root. */
const CONFIG = fileURLToPath(new URL("../../../prisma.config.ts", import.meta.url));

/**
 * Applies pending migrations to `databaseUrl` (a SQLite file is created when missing; a
 * PostgreSQL database must exist); a no-op when it is up to date. Prisma has no
 * migration API, so this runs the installed CLI's `migrate deploy` in a child process
 * (about 1.5 s). A relative `file:` URL is resolved against the current directory, as
 * Store.open resolves it.
 */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  await prismaCli(databaseUrl, ["migrate", "deploy"]);
}

/** Runs the installed Prisma CLI with this package's config on `databaseUrl`; its output, or an error that includes it. */
export async function prismaCli(databaseUrl: string, args: string[]): Promise<string> {
  const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args, "--config", CONFIG], {
      // CHECKPOINT_DISABLE: no update check, which would try the network.
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: "1" },
    });
    return `${stdout}${stderr}`;
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    const output = `${stdout}${stderr}`.trim() || String(err);
    throw new Error(`prisma ${args.join(" ")} failed for ${databaseUrl}:\n${output}`, { cause: err });
  }
}
