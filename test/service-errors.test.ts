// The service's own errors as clients get them, mapped in one place (graphql/errors.ts);
// generate's failures in words; stored configs read through today's config schema.
import Database from "better-sqlite3";
import { GraphQLError } from "graphql";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseTrainConfig } from "../src/engine/config.js";
import { formatForClient } from "../src/server/graphql/client-errors.js";
import { InputError } from "../src/server/input-error.js";
import { GenerateError } from "../src/server/runs/generator.js";
import { Store } from "../src/server/store/store.js";
import { NotFoundError } from "../src/server/store/types.js";
import { waitForStatus } from "./process-helpers.js";
import { startTestServer, type TestServer } from "./server-helpers.js";
import { freshDatabase } from "./store-helpers.js";

const TINY = { imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, backend: "CPU" };
const silent = pino({ level: "silent" });

/** What a client gets for `thrown`, raised by a resolver at `path` without any wrapping. */
function asClientSees(thrown: Error, path = ["stopRun"]) {
  const error = new GraphQLError(thrown.message, { originalError: thrown, path });
  return formatForClient(error.toJSON(), error, silent);
}

describe("errors the service raises on purpose, wherever a resolver lets them through", () => {
  it("answers an InputError with BAD_USER_INPUT and its field", () => {
    expect(asClientSees(new InputError("id", "no run x"))).toMatchObject({ message: "id: no run x", path: ["stopRun"], extensions: { code: "BAD_USER_INPUT", field: "id" } });
  });

  it("answers a NotFoundError with NOT_FOUND, naming what and its id", () => {
    expect(asClientSees(new NotFoundError("run", "abc"))).toEqual({
      message: "no run abc",
      path: ["stopRun"],
      extensions: { code: "NOT_FOUND", entity: "run", id: "abc" },
    });
  });

  it("answers a ConfigError with BAD_USER_INPUT for each field, under the names clients send them by", () => {
    const { extensions } = asClientSees(new ConfigError("dataPath", "is needed", [{ field: "nz", detail: "must be a whole number" }]));
    expect(extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "dataset.path", moreInvalidFields: [{ field: "nz", message: "nz: must be a whole number" }] });
  });

  it("answers a render that failed for the server's reasons with GENERATE_FAILED, in words", () => {
    expect(asClientSees(new GenerateError("rendering failed: generate process killed by SIGKILL (out of memory?)"), ["generate"])).toEqual({
      message: "rendering failed: generate process killed by SIGKILL (out of memory?)",
      path: ["generate"],
      extensions: { code: "GENERATE_FAILED" },
    });
  });

  it("still masks anything else", () => {
    expect(asClientSees(new Error("SQLITE_BUSY at /secret/path"))).toMatchObject({ message: "internal error", extensions: { code: "INTERNAL_SERVER_ERROR" } });
  });
});

describe("generate", () => {
  let server: TestServer;
  let checkpointId = "";
  beforeAll(async () => {
    server = await startTestServer({ maxConcurrentRuns: 1 });
    const started = await server.gql<{ startRun: { id: string } }>(`mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`, {
      input: { ...TINY, iterations: 1 },
    });
    const id = started.data!.startRun.id;
    await waitForStatus(server.service.url, id, ["COMPLETED"]);
    checkpointId = (await server.service.store.listCheckpoints(id))[0]!.id;
  });

  const generate = () => server.gql(`mutation ($id: ID!) { generate(checkpointId: $id, count: 4) { kind } }`, { id: checkpointId });

  it("renders in a process of its own, through the training processes' protocol", async () => {
    expect((await generate()).data).toEqual({ generate: { kind: "GENERATED" } });
  });

  it("answers a checkpoint file that is corrupt on disk with BAD_USER_INPUT saying why, naming no server path", async () => {
    const checkpoint = (await server.service.store.getCheckpoint(checkpointId))!;
    await writeFile(join(server.dataDir, checkpoint.path), "not a checkpoint at all");
    const { data, errors } = await generate();
    expect(data).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors![0]).toMatchObject({
      message: `checkpointId: checkpoint ${checkpointId} cannot be used: not a DCGAN checkpoint (bad magic)`,
      extensions: { code: "BAD_USER_INPUT", field: "checkpointId" },
    });
    expect(errors![0]!.message).not.toContain(server.dataDir);
  });
});

describe("a stored run's config", () => {
  it("is read through today's config schema: a setting an old row lacks takes its default", async () => {
    const url = await freshDatabase();
    const store = await Store.open(url);
    try {
      const { id } = await store.createRun({ name: "old", config: parseTrainConfig({ imageSize: 16, iterations: 10 }) });
      // As a row written before sampleEvery and checkpointEvery existed would be.
      const db = new Database(fileURLToPath(url));
      const old = { dataset: "synthetic", imageSize: 16, nz: 100, ngf: 64, ndf: 64, batchSize: 128, lr: 0.0002, beta1: 0.5, seed: 999, iterations: 10, epochs: 5, backend: "auto" } as const;
      db.prepare(`UPDATE "Run" SET config = ? WHERE id = ?`).run(JSON.stringify(old), id);
      db.close();
      const run = (await store.getRun(id))!;
      expect(run.config).toEqual(parseTrainConfig(old));
      expect(run.config).toMatchObject({ sampleEvery: 500, checkpointEvery: 500 });
    } finally {
      await store.close();
    }
  });
});
