// Prisma CLI configuration. Migrations run through the better-sqlite3 driver adapter
// and the JS (WASM) schema engine, so no native engine is downloaded.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { defineConfig } from "prisma/config";

// The schema's url = env("DATABASE_URL") must resolve even for `generate`, which opens
// no database (unresolved, the CLI falls back to downloading a query engine). The
// default is the server's own default database.
process.env.DATABASE_URL ??= "file:./data/dcgan.db";

type Adapter = Awaited<ReturnType<PrismaBetterSQLite3["connect"]>>;

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
async function explained(url: string, connect: () => Promise<Adapter>): Promise<Adapter> {
  try {
    return acceptingScripts(await connect());
  } catch (err) {
    console.error(`Cannot open ${url}: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  async adapter() {
    const url = process.env.DATABASE_URL!;
    const factory = new PrismaBetterSQLite3({ url });
    return {
      provider: factory.provider,
      adapterName: factory.adapterName,
      connect: () => explained(url, () => factory.connect()),
      connectToShadowDb: () => explained("the shadow database", () => factory.connectToShadowDb()),
    };
  },
});
