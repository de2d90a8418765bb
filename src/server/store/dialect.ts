// Which database a URL names. The store, its migrations and the Prisma CLI's config
// choose between SQLite and PostgreSQL by this alone.

export type Dialect = "sqlite" | "postgresql";

/** `postgresql://` and `postgres://` URLs are PostgreSQL; anything else (`file:...`) is SQLite. */
export function dialectOf(databaseUrl: string): Dialect {
  return /^postgres(ql)?:\/\//i.test(databaseUrl) ? "postgresql" : "sqlite";
}

/** Each dialect's Prisma schema and migrations, relative to the package root. */
export const PRISMA_PATHS = {
  sqlite: { schema: "prisma/schema.prisma", migrations: "prisma/migrations" },
  // Generated from the SQLite schema by postgres-schema.ts; the migrations are its own.
  postgresql: { schema: "prisma/postgresql/schema.prisma", migrations: "prisma/postgresql/migrations" },
} as const satisfies Record<Dialect, { schema: string; migrations: string }>;
