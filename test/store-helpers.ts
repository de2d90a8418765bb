import { rmSync } from "node:fs";
import { copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateDatabase } from "../src/server/store/migrate.js";

let root: Promise<string> | undefined;
let template: Promise<string> | undefined;
let copies = 0;

/** One folder per test process for every database file, removed when the process exits. */
function databaseDir(): Promise<string> {
  return (root ??= mkdtemp(join(tmpdir(), "dcgan-db-")).then((dir) => {
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }));
}

/**
 * The `file:` URL of a new, migrated, empty database. Migrating takes a CLI run (about
 * 1.5 s), so it happens once per test process, on a template that each call copies.
 */
export async function freshDatabase(): Promise<string> {
  const dir = await databaseDir();
  template ??= (async () => {
    const file = join(dir, "template.db");
    await migrateDatabase(`file:${file}`);
    return file;
  })();
  const file = join(dir, `test-${++copies}.db`);
  await copyFile(await template, file);
  return `file:${file}`;
}
