import Database from "better-sqlite3";
import { rmSync } from "node:fs";
import { copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { dialectOf } from "../src/server/store/dialect.js";
import { migrateDatabase } from "../src/server/store/migrate.js";
import { usePostgresServer } from "./services/postgres.js";

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

export interface TestDatabase {
  name: "SQLite" | "PostgreSQL";
  /** The URL of a new, migrated, empty database. */
  fresh(): Promise<string>;
}

/**
 * The databases the store runs on, for tests that run on each (describe.each). Call it
 * at the file's top level: it gives the file a PostgreSQL server of its own.
 */
export function testDatabases(): TestDatabase[] {
  const postgres = usePostgresServer();
  return [
    { name: "SQLite", fresh: freshDatabase },
    { name: "PostgreSQL", fresh: () => postgres.freshDatabase() },
  ];
}

/** The rows of a query on the URL's database through a connection of its own, as another process would have. */
export async function queryDatabase(url: string, sql: string): Promise<Record<string, unknown>[]> {
  if (dialectOf(url) === "sqlite") {
    const db = new Database(fileURLToPath(url));
    try {
      return db.prepare(sql).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}
