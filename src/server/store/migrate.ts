// Brings a database up to the committed migrations (prisma/migrations) at startup.
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** src/server/store/ and dist/server/store/ both sit three levels below the package root. */
const CONFIG = fileURLToPath(new URL("../../../prisma.config.ts", import.meta.url));

/**
 * Applies pending migrations to `databaseUrl` (created when missing); a no-op when it is
 * up to date. Prisma has no migration API, so this runs the installed CLI's
 * `migrate deploy` in a child process (about 1.5 s). A relative `file:` URL is resolved
 * against the current directory, as Store.open resolves it.
 */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
  try {
    await run(process.execPath, [cli, "migrate", "deploy", "--config", CONFIG], {
      // CHECKPOINT_DISABLE: no update check, which would try the network.
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: "1" },
    });
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    const output = `${stdout}${stderr}`.trim() || String(err);
    throw new Error(`prisma migrate deploy failed for ${databaseUrl}:\n${output}`, { cause: err });
  }
}
