// Prisma CLI configuration. Migrations run through a driver adapter and the JS (WASM)
// schema engine, so no native engine is downloaded. DATABASE_URL picks the database:
// SQLite (prisma/schema.prisma, better-sqlite3) or PostgreSQL (prisma/postgresql/, pg).
import { randomUUID } from "node:crypto";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig, type PrismaConfig } from "prisma/config";
import { dialectOf, PRISMA_PATHS } from "./src/server/store/dialect.js";

// The schema's url = env("DATABASE_URL") must resolve even for `generate`, which opens
// no database (unresolved, the CLI falls back to downloading a query engine). The
// default is the server's own default database.
process.env.DATABASE_URL ??= "file:./data/dcgan.db";
const url = process.env.DATABASE_URL;
const dialect = dialectOf(url);

type Adapter = Awaited<ReturnType<PrismaBetterSQLite3["connect"]>>;
/** What the config's adapter() returns: a factory of connections, migrate's own. */
type AdapterFactory = Awaited<ReturnType<Extract<PrismaConfig, { engine: "js" }>["adapter"]>>;

/**
 * better-sqlite3 prepares one statement at a time, but migrate sends a whole
 * migration.sql through parameterless `executeRaw` (when it replays migrations into
 * the shadow database); run those as scripts.
 */
function acceptingScripts(adapter: Adapter): Adapter {
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    if (query.args.length > 0) return executeRaw(query);
    await adapter.executeScript(query.sql);
    return 0;
  };
  return adapter;
}

/** The CLI reports an adapter's failure to open a database as "External error id#0": say why first. */
async function explained<A>(url: string, connect: () => Promise<A>): Promise<A> {
  try {
    return await connect();
  } catch (err) {
    console.error(`Cannot open ${url}: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
}

/** The SQLite adapter, taking scripts as above. */
function sqliteAdapter(): AdapterFactory {
  const factory = new PrismaBetterSQLite3({ url });
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => explained(url, async () => acceptingScripts(await factory.connect())),
    connectToShadowDb: () => explained("the shadow database", async () => acceptingScripts(await factory.connectToShadowDb())),
  };
}

type PgAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;

/**
 * allowExitOnIdle: the CLI leaves its pools open, whose idle connections would keep it
 * running for pg's idle timeout (10 s) after its work is done.
 */
function poolConfig(connectionString: string) {
  return { connectionString, allowExitOnIdle: true };
}
interface PgResult {
  fields: { dataTypeID: number }[];
}

/** Catalog types adapter-pg cannot map: `"char"` (one-letter codes) and `name` (identifiers); and `text`. */
const CATALOG_STRING_OIDS = new Set([18, 19]);
const TEXT_OID = 25;

/**
 * Migrate's introspection reads catalog columns of types `name` and `"char"`, which
 * adapter-pg 6.19 refuses ("Column type 'name' could not be deserialized",
 * prisma/orm#27403); pg hands them over as strings, so they are relabelled text. A pool
 * opens no connection until a query, so one is sent at once: a database that cannot be
 * opened fails here, named.
 */
async function forMigrate(adapter: PgAdapter): Promise<PgAdapter> {
  const io = adapter as unknown as { performIO(query: unknown): Promise<PgResult | PgResult[]> };
  const performIO = io.performIO.bind(adapter);
  io.performIO = async (query) => {
    const result = await performIO(query);
    // A script of several statements (a migration) has a result per statement.
    for (const { fields } of [result].flat()) {
      for (const field of fields) if (CATALOG_STRING_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
    }
    return result;
  };
  await adapter.queryRaw({ sql: "SELECT 1", args: [], argTypes: [] });
  return adapter;
}

/**
 * A new database on the same server for migrate dev to replay the migrations into,
 * dropped after. Not adapter-pg's connectToShadowDb: it names the shadow database
 * beside a connectionString, which overrides it (so migrations would replay into the
 * real database), and drops it before closing its own connections to it.
 */
async function shadowDatabase(): Promise<PgAdapter> {
  const server = await new PrismaPg(poolConfig(url)).connect();
  const name = `prisma_migrate_shadow_db_${randomUUID()}`;
  await server.executeScript(`CREATE DATABASE "${name}"`);
  const shadowUrl = new URL(url);
  shadowUrl.pathname = `/${name}`;
  const shadow = await new PrismaPg(poolConfig(shadowUrl.href)).connect();
  const dispose = shadow.dispose.bind(shadow);
  shadow.dispose = async () => {
    await dispose();
    await server.executeScript(`DROP DATABASE "${name}"`);
    await server.dispose();
  };
  return shadow;
}

/** How long the schema engine waits for migrate's advisory lock on PostgreSQL. */
const ADVISORY_LOCK_TIMEOUT_MS = 10_000;

/**
 * The WASM schema engine starts a timer of ADVISORY_LOCK_TIMEOUT_MS around taking its
 * advisory lock and never clears it, so every PostgreSQL migrate command would linger
 * 10 s after its work (this config runs in the CLI's process). Such timers are unref'd:
 * while the engine waits for the lock, its pending query keeps the process alive.
 */
function unrefLockTimeouts(): void {
  const setTimer = globalThis.setTimeout;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    const timer = setTimer(...args);
    if (args[1] === ADVISORY_LOCK_TIMEOUT_MS) timer.unref();
    return timer;
  }) as typeof setTimeout;
}

function postgresAdapter(): AdapterFactory {
  unrefLockTimeouts();
  const factory = new PrismaPg(poolConfig(url));
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => explained(url, async () => forMigrate(await factory.connect())),
    connectToShadowDb: () => explained("the shadow database", async () => forMigrate(await shadowDatabase())),
  };
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: PRISMA_PATHS[dialect].schema,
  migrations: { path: PRISMA_PATHS[dialect].migrations },
  async adapter() {
    return dialect === "postgresql" ? postgresAdapter() : sqliteAdapter();
  },
});
