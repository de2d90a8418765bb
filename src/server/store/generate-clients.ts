/**
 * `npm run prisma:generate`: writes prisma/postgresql/schema.prisma from
 * prisma/schema.prisma, then generates both Prisma clients (generated/ and
 * generated-postgresql/, not committed).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { PRISMA_PATHS, type Dialect } from "./dialect.js";
import { postgresSchema } from "./postgres-schema.js";

/**
 * prisma.config.ts picks the schema by DATABASE_URL, and generate wants a URL of the
 * schema's provider (it opens no database; without one it tries to download a query engine).
 */
const SAMPLE_URLS: Record<Dialect, string> = { sqlite: "file:./data/dcgan.db", postgresql: "postgresql://localhost/dcgan" };

writeFileSync(PRISMA_PATHS.postgresql.schema, postgresSchema(readFileSync(PRISMA_PATHS.sqlite.schema, "utf8")));
const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
for (const url of Object.values(SAMPLE_URLS)) {
  // CHECKPOINT_DISABLE: no update check, which would try the network.
  execFileSync(process.execPath, [cli, "generate"], { stdio: "inherit", env: { ...process.env, DATABASE_URL: url, CHECKPOINT_DISABLE: "1" } });
}
