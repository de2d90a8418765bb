// prisma/postgresql/schema.prisma is derived from prisma/schema.prisma, the one source of
// the models: Prisma takes one provider per schema file. Committed, so that the
// PostgreSQL migrations can be made from it; test/schema-sources.test.ts checks it is
// what this derivation gives.

/** The generated file's first lines: where it comes from. */
const HEADER = [
  "// Generated from prisma/schema.prisma by src/server/store/postgres-schema.ts",
  "// (npm run prisma:generate): edit that file, not this one.",
  "",
].join("\n");

/** Each must occur exactly once in the SQLite schema: the derivation fails loudly when it changes shape. */
const REPLACEMENTS: [from: string, to: string][] = [
  ['provider = "sqlite"', 'provider = "postgresql"'],
  // One folder deeper, and a client of its own beside the SQLite one.
  ['output              = "../src/server/store/generated"', 'output              = "../../src/server/store/generated-postgresql"'],
];

/** The PostgreSQL schema for the text of the SQLite one. */
export function postgresSchema(sqliteSchema: string): string {
  let schema = sqliteSchema;
  for (const [from, to] of REPLACEMENTS) {
    const occurrences = schema.split(from).length - 1;
    if (occurrences !== 1) throw new Error(`prisma/schema.prisma: expected "${from}" once, found it ${occurrences} times`);
    schema = schema.replace(from, to);
  }
  return HEADER + schema;
}
