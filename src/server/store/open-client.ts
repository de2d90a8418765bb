// A Prisma client for a database URL: SQLite through better-sqlite3, or PostgreSQL through pg.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { dialectOf, type Dialect } from "./dialect.js";
import { PrismaClient } from "./generated/client.js";
import { PrismaClient as PostgresPrismaClient } from "./generated-postgresql/client.js";

/** busy_timeout: how long a statement waits for another connection's lock before failing. */
const BUSY_TIMEOUT_MS = 5000;

export interface OpenedClient {
  /** Typed as the SQLite client, for either database: see openPostgres. */
  prisma: PrismaClient;
  dialect: Dialect;
}

/** Opens the URL's database, e.g. `file:./data/dcgan.db` or `postgresql://host/dcgan`. */
export async function openClient(databaseUrl: string): Promise<OpenedClient> {
  const dialect = dialectOf(databaseUrl);
  const prisma = dialect === "postgresql" ? await openPostgres(databaseUrl) : await openSqlite(databaseUrl);
  return { prisma, dialect };
}

async function openSqlite(databaseUrl: string): Promise<PrismaClient> {
  const prisma = new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: databaseUrl, timeout: BUSY_TIMEOUT_MS }) });
  try {
    // WAL lets readers (another process, a backup) go on while a metrics batch commits,
    // and it is stored in the file. With WAL, synchronous=NORMAL stays consistent
    // after a crash and spares an fsync per commit. The adapter holds one connection,
    // so the per-connection pragmas hold for every query.
    const [mode] = await prisma.$queryRawUnsafe<{ journal_mode: string }[]>("PRAGMA journal_mode = WAL");
    if (mode?.journal_mode !== "wal") throw new Error(`${databaseUrl}: journal_mode is ${mode?.journal_mode}, not wal`);
    await prisma.$executeRawUnsafe("PRAGMA synchronous = NORMAL");
    // Deleting a run cascades through the foreign keys, which SQLite enforces only when asked.
    await prisma.$executeRawUnsafe("PRAGMA foreign_keys = ON");
  } catch (err) {
    await prisma.$disconnect();
    throw err;
  }
  return prisma;
}

/**
 * The PostgreSQL client, typed as the SQLite one so that the store has one set of model
 * queries. Both are generated from the same models (postgres-schema.ts), so their model
 * APIs are the same but for additions of PostgreSQL's (skipDuplicates, case-insensitive
 * filters) that the store does not use. $disconnect (Store.close) ends the pool.
 */
async function openPostgres(databaseUrl: string): Promise<PrismaClient> {
  const prisma = new PostgresPrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) }) as unknown as PrismaClient;
  try {
    // The pool connects on demand: an unreachable database fails here, as a SQLite file does.
    await prisma.$queryRawUnsafe("SELECT 1");
  } catch (err) {
    await prisma.$disconnect();
    throw err;
  }
  return prisma;
}
