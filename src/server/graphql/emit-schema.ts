/**
 * `npm run schema`: writes the GraphQL schema to schema.graphql and the dashboard's types
 * to web/src/schema-types.ts (both committed; tests check both are up to date).
 */
import "reflect-metadata";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { lexicographicSortSchema, printSchema } from "graphql";
import { DASHBOARD_TYPES_FILE, dashboardTypes, operationDocuments } from "./dashboard-types.js";
import { createSchema } from "./schema.js";

export async function schemaSdl(): Promise<string> {
  // Sorted: decorator evaluation order differs between tsc and esbuild builds.
  return `${printSchema(lexicographicSortSchema(await createSchema()))}\n`;
}

/** The dashboard's documents: each exported operation of web/src/queries.ts, by its export name. */
export async function dashboardDocuments(): Promise<[string, string][]> {
  // A path built at run time: web/ is the dashboard's, outside the server's build.
  const queries = pathToFileURL(resolve("web/src/queries.ts")).href;
  return operationDocuments((await import(queries)) as Record<string, unknown>);
}

/** web/src/schema-types.ts's text, from the server's schema (not the printed one, whose enums are sorted). */
export async function dashboardTypesSource(): Promise<string> {
  return dashboardTypes(await createSchema(), await dashboardDocuments());
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  await writeFile("schema.graphql", await schemaSdl());
  await writeFile(DASHBOARD_TYPES_FILE, await dashboardTypesSource());
  process.stdout.write(`wrote schema.graphql and ${DASHBOARD_TYPES_FILE}\n`);
}
