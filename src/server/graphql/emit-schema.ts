/** `npm run schema`: writes the GraphQL schema to schema.graphql (committed; a test checks it). */
import "reflect-metadata";
import { writeFile } from "node:fs/promises";
import { lexicographicSortSchema, printSchema } from "graphql";
import { createSchema } from "./schema.js";

export async function schemaSdl(): Promise<string> {
  // Sorted: decorator evaluation order differs between tsc and esbuild builds.
  return `${printSchema(lexicographicSortSchema(await createSchema()))}\n`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  await writeFile("schema.graphql", await schemaSdl());
  process.stdout.write("wrote schema.graphql\n");
}
