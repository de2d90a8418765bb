// Lists and defaults written in more than one place agree with their one source: the
// engine's (datasets, backends, training defaults) and the store's (run statuses,
// sample kinds). What cannot be derived from the source (schema.prisma, schema.graphql,
// the dashboard's documents and generated types) is compared with it here, and so is
// the PostgreSQL schema derived from the SQLite one.
import "reflect-metadata";
import { readFile } from "node:fs/promises";
import { buildSchema, type GraphQLSchema, isEnumType, isInputObjectType, parse, validate } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { BACKEND_CHOICES, BACKEND_ORDER, DATASET_KINDS, TRAIN_DEFAULTS } from "../src/engine/config.js";
import { DASHBOARD_TYPES_FILE, dashboardTypes, operationDocuments } from "../src/server/graphql/dashboard-types.js";
import { dashboardTypesSource } from "../src/server/graphql/emit-schema.js";
import { backendFromEngine, backendToEngine, datasetFromEngine, datasetToEngine } from "../src/server/graphql/enums.js";
import { PRISMA_PATHS } from "../src/server/store/dialect.js";
import { postgresSchema } from "../src/server/store/postgres-schema.js";
import { RUN_STATUSES, SAMPLE_KINDS } from "../src/server/store/types.js";
import { SWEEP_AXES } from "../src/server/sweeps/grid.js";
import * as queries from "../web/src/queries.js";
import { GRID } from "../web/src/sweep-grid.js";

/** The committed schema: what clients, GraphiQL and the dashboard see. */
let published: GraphQLSchema;
beforeAll(async () => {
  published = buildSchema(await readFile("schema.graphql", "utf8"));
});

function enumValues(name: string): string[] {
  const type = published.getType(name);
  if (!isEnumType(type)) throw new Error(`${name} is not an enum`);
  return type.getValues().map((value) => value.name).sort();
}

/** The values of `enum name { ... }` in prisma/schema.prisma, in order. */
async function prismaEnum(name: string): Promise<string[]> {
  const prisma = await readFile("prisma/schema.prisma", "utf8");
  const body = new RegExp(`^enum ${name} \\{([^}]*)\\}`, "m").exec(prisma)?.[1];
  if (body === undefined) throw new Error(`prisma/schema.prisma has no enum ${name}`);
  return body
    .split("\n")
    .map((line) => line.replace(/\/\/.*$/, "").trim())
    .filter((line) => line !== "");
}

describe("the store's lists", () => {
  it("are prisma/schema.prisma's enums", async () => {
    expect(await prismaEnum("RunStatus")).toEqual([...RUN_STATUSES]);
    expect(await prismaEnum("SampleKind")).toEqual([...SAMPLE_KINDS]);
  });

  it("are the schema's enums", () => {
    expect(enumValues("RunStatus")).toEqual([...RUN_STATUSES].sort());
    expect(enumValues("SampleKind")).toEqual([...SAMPLE_KINDS].sort());
  });
});

describe("prisma/postgresql/schema.prisma", () => {
  it("is the one derived from prisma/schema.prisma (npm run prisma:generate)", async () => {
    const derived = postgresSchema(await readFile(PRISMA_PATHS.sqlite.schema, "utf8"));
    expect(await readFile(PRISMA_PATHS.postgresql.schema, "utf8")).toBe(derived);
  });
});

describe("the engine's lists", () => {
  it("are the schema's DatasetKind, one value for each kind, converted both ways", () => {
    const names = DATASET_KINDS.map(datasetFromEngine);
    expect(new Set(names).size).toBe(DATASET_KINDS.length);
    expect(enumValues("DatasetKind")).toEqual([...names].sort());
    for (const kind of DATASET_KINDS) expect(datasetToEngine(datasetFromEngine(kind))).toBe(kind);
  });

  it("are the schema's Backend, in auto's order in its description, converted both ways", () => {
    expect(enumValues("Backend")).toEqual(BACKEND_CHOICES.map((choice) => choice.toUpperCase()).sort());
    for (const choice of BACKEND_CHOICES) expect(backendToEngine(backendFromEngine(choice))).toBe(choice);
    expect(published.getType("Backend")?.description).toContain(BACKEND_ORDER.join(", ").toUpperCase());
  });

  it("convert nothing else: an unknown value throws rather than passing through", () => {
    expect(() => backendFromEngine("gpu" as never)).toThrow(/Backend/);
    expect(() => datasetToEngine("CELEBA" as never)).toThrow(/DatasetKind/);
  });
});

describe("StartRunInput's default values", () => {
  /** Each StartRunInput field's default as a client would write it, or undefined. */
  function defaults(): Record<string, unknown> {
    const input = published.getType("StartRunInput");
    if (!isInputObjectType(input)) throw new Error("no StartRunInput");
    return Object.fromEntries(Object.values(input.getFields()).map((field) => [field.name, field.defaultValue]));
  }

  it("are the engine's, every one of them", () => {
    const { dataset, backend, ...numbers } = TRAIN_DEFAULTS;
    expect(defaults()).toEqual({
      ...numbers,
      dataset: { kind: datasetFromEngine(dataset) },
      backend: backendFromEngine(backend),
      // No fixed default: the dataset's channels, epochs' iterations, the server's threads.
      name: undefined,
      channels: undefined,
      iterations: undefined,
      threads: undefined,
    });
  });

  it("include the dataset's kind", () => {
    const input = published.getType("DatasetInput");
    if (!isInputObjectType(input)) throw new Error("no DatasetInput");
    expect(input.getFields().kind?.defaultValue).toBe(datasetFromEngine(TRAIN_DEFAULTS.dataset));
  });
});

describe("the dashboard", () => {
  const documents = operationDocuments(queries);

  it("offers a sweep's grid settings as the schema's SweepGridInput has them (the server's SWEEP_AXES), each Int or Float", () => {
    const input = published.getType("SweepGridInput");
    if (!isInputObjectType(input)) throw new Error("no SweepGridInput");
    const scalar = (type: string) => type.replace(/[[\]!]/g, "");
    const offered = GRID.map((g) => [g.name, g.kind === "int" ? "Int" : "Float"]);
    // In the order runs are named by; the published schema lists fields sorted.
    expect(offered).toEqual(Object.entries(SWEEP_AXES));
    expect(offered.sort()).toEqual(Object.values(input.getFields()).map((f) => [f.name, scalar(String(f.type))]).sort());
  });

  it("sends only documents the schema validates", () => {
    expect(documents.length).toBeGreaterThanOrEqual(10);
    for (const [name, text] of documents) {
      expect({ name, errors: validate(published, parse(text)).map((error) => error.message) }).toEqual({ name, errors: [] });
    }
  });

  it(`reads the types generated from them and the schema (${DASHBOARD_TYPES_FILE}; npm run schema)`, async () => {
    expect(await readFile(DASHBOARD_TYPES_FILE, "utf8")).toBe(await dashboardTypesSource());
  });

  it("cannot generate types for a document the schema does not validate", () => {
    expect(() => dashboardTypes(published, [["BAD", `query Bad { runs { nodes { id nickname } } }`]])).toThrow(/BAD does not fit the schema: .*nickname/);
  });
});
