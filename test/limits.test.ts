// Every limit a client can run into: each set low here (they are all configurable), each
// answered with its own code and a message naming the setting.
import Database from "better-sqlite3";
import { createClient } from "graphql-ws";
import { once } from "node:events";
import { beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { pino } from "pino";
import { parseTrainConfig } from "../src/engine/config.js";
import { stringifyResult } from "../src/server/graphql/stringify-result.js";
import { tinyRunLiteral } from "./helpers.js";
import { openSocket, startTestServer, type TestServer } from "./server-helpers.js";
import { freshDatabase } from "./store-helpers.js";

const LIMITS = {
  maxQueryDepth: 4,
  maxQueryCost: 500,
  maxQueryAliases: 5,
  maxQueryTokens: 300,
  maxPageSize: 10,
  maxMetricPoints: 50,
  maxBodyBytes: 2000,
  maxOperationsPerConnection: 3,
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ limits: LIMITS });
});

async function post(body: string, contentType = "application/json") {
  const res = await fetch(server.service.url, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

/** The errors a WebSocket operation ends with (graphql-ws rejects with them). */
async function wsErrors(query: string, client = server.ws): Promise<unknown> {
  const stream = client.iterate({ query });
  try {
    const first = await stream.next();
    return first.value?.errors;
  } catch (errors) {
    return errors;
  } finally {
    await stream.return?.();
  }
}

describe("query depth and cost", () => {
  const TOO_DEEP = `{ runs { nodes { config { dataset { kind } } } } }`;
  const TOO_COSTLY = `{ runs(first: 10) { nodes { id metrics(maxPoints: 50) { iteration lossD lossG dX } } } }`;

  it("refuses a query nested deeper than MAX_QUERY_DEPTH, over HTTP and WebSocket", async () => {
    const res = await post(JSON.stringify({ query: TOO_DEEP }));
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/depth.*MAX_QUERY_DEPTH/), extensions: { code: "QUERY_TOO_DEEP" } });
    expect(await wsErrors(TOO_DEEP)).toEqual([expect.objectContaining({ extensions: { code: "QUERY_TOO_DEEP" } })]);
    // One level less is fine.
    expect((await post(JSON.stringify({ query: `{ runs { nodes { config { imageSize } } } }` }))).body.errors).toBeUndefined();
  });

  it("refuses a query whose estimated cost exceeds MAX_QUERY_COST, counting page sizes and points", async () => {
    const res = await post(JSON.stringify({ query: TOO_COSTLY }));
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/^operation cost \d+ exceeds the limit of 500 \(MAX_QUERY_COST\)/),
      extensions: { code: "QUERY_TOO_COSTLY", limit: 500 },
    });
    expect(await wsErrors(TOO_COSTLY)).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "QUERY_TOO_COSTLY" }) })]);
    // Variables count too: the same query is cheap with small sizes.
    const cheap = `query ($n: Int, $p: Int) { runs(first: $n) { nodes { id metrics(maxPoints: $p) { iteration } } } }`;
    expect((await post(JSON.stringify({ query: cheap, variables: { n: 2, p: 10 } }))).body.errors).toBeUndefined();
    expect((await post(JSON.stringify({ query: cheap, variables: { n: 10, p: 50 } }))).body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COSTLY");
  });
});

describe("padding, aliases and tokens", () => {
  it("refuses an operation whose fields, fragments expanded, are too many to count as too costly, not as free", async () => {
    // Within the default depth, aliases and tokens: F4 is 11^4 = 14,641 fields. graphql-query-complexity
    // stops counting at 10,000, and four metrics(maxPoints: 10000) (240,008 alone) rode on that for free.
    const own = await startTestServer();
    const fragments = Array.from({ length: 4 }, (_, i) => `fragment F${i + 1} on Query { ${`...F${i} `.repeat(11)}}`).join(" ");
    const metrics = (i: number) => `m${i}: run(id: "x") { metrics(maxPoints: 10000) { iteration lossD lossG dX dGz1 dGz2 } }`;
    const query = `{ ...F4 ${[1, 2, 3, 4].map(metrics).join(" ")} } ${fragments} fragment F0 on Query { __typename }`;
    const res = await fetch(own.service.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: unknown[] }).errors).toEqual([
      { message: expect.stringMatching(/more than 10,000 fields.*MAX_QUERY_COST/), extensions: { code: "QUERY_TOO_COSTLY", limit: 200_000 } },
    ]);
    expect(await wsErrors(query, own.ws)).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "QUERY_TOO_COSTLY" }) })]);
  });

  it("refuses more aliases than MAX_QUERY_ALIASES, __typename's too, over HTTP and WebSocket", async () => {
    for (const field of ["__typename", "system { version }"]) {
      const query = `{ ${Array.from({ length: 6 }, (_, i) => `a${i}: ${field}`).join(" ")} }`;
      const res = await post(JSON.stringify({ query }));
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ message: "Aliases limit of 5 exceeded, found 6. (MAX_QUERY_ALIASES)", extensions: { code: "TOO_MANY_ALIASES" } }]);
      expect(await wsErrors(query)).toEqual([expect.objectContaining({ extensions: { code: "TOO_MANY_ALIASES" } })]);
    }
    // Aliases inside a fragment count once per spread.
    const spread = `{ ...A ...A } fragment A on Query { a: __typename b: __typename c: __typename }`;
    expect((await post(JSON.stringify({ query: spread }))).body.errors?.[0]?.extensions?.code).toBe("TOO_MANY_ALIASES");
    expect((await post(JSON.stringify({ query: `{ a: __typename b: __typename c: __typename d: __typename e: __typename }` }))).body.errors).toBeUndefined();
  });

  it("refuses a document of more than MAX_QUERY_TOKENS tokens before parsing it, over HTTP (POST and GET) and WebSocket", async () => {
    const query = `{ ${"a ".repeat(299)}}`;
    const expected = { message: "the document has more than 300 tokens (MAX_QUERY_TOKENS)", extensions: { code: "TOO_MANY_TOKENS" } };
    const res = await post(JSON.stringify({ query }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expected]);
    const get = await fetch(`${server.service.url}?query=${encodeURIComponent(query)}`, { headers: { "apollo-require-preflight": "1" } });
    expect([get.status, await get.json()]).toEqual([400, { errors: [expected] }]);
    expect(await wsErrors(query)).toEqual([expect.objectContaining(expected)]);
    // 300 tokens go on to be parsed and validated (field "a" does not exist).
    expect((await post(JSON.stringify({ query: `{ ${"a ".repeat(298)}}` }))).body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("prices fields whose resolvers do more than one unit of work: system and the schema's introspection", async () => {
    for (const query of [`{ system { version } }`, `{ __schema { queryType { name } } }`]) {
      const res = await post(JSON.stringify({ query }));
      expect(res.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^operation cost \d{4} exceeds the limit of 500/), extensions: { code: "QUERY_TOO_COSTLY" } });
    }
    expect((await post(JSON.stringify({ query: `{ __type(name: "Run") { name } }` }))).body.errors).toBeUndefined();
  });

  it("prices a sweep's runs and table as MAX_QUEUED_RUNS of them, the table's rows as aggregates", async () => {
    const cost = async (query: string) => (await post(JSON.stringify({ query }))).body.errors?.[0]?.message.match(/^operation cost (\d+)/)?.[1];
    // One run's metrics of 50 points is cheap; a sweep's up to 100 runs of them is not.
    expect(await cost(`{ run(id: "x") { metrics(maxPoints: 50) { iteration } } }`)).toBeUndefined();
    expect(await cost(`{ sweep(id: "x") { runs { metrics(maxPoints: 50) { iteration } } } }`)).toBe(String(1 + 1 + 100 * (1 + 50 * 1)));
    expect(await cost(`{ sweep(id: "x") { table { bestLossD } } }`)).toBe(String(1 + 1 + 100 * (1 + 600)));
    expect(await cost(`{ sweep(id: "x") { runs { id } } }`)).toBeUndefined();
  });
});

describe("nesting", () => {
  it("refuses lists and objects nested too deep to parse with QUERY_TOO_DEEP, never a stack overflow, over HTTP and WebSocket", async () => {
    // Tokens enough for 5,000 levels: only the nesting bound stands before the parser's stack.
    const own = await startTestServer({ limits: { maxQueryTokens: 100_000 } });
    const deep = (open: string, close: string) => `{ runs(first: ${open.repeat(5000)}1${close.repeat(5000)}) { nodes { id } } }`;
    for (const query of [deep("[", "]"), deep("{a: ", "}"), `{ ${"runs { nodes { ".repeat(2500)}id${" } }".repeat(2500)} }`]) {
      const res = await fetch(own.service.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
      const body = (await res.json()) as { errors: unknown[] };
      expect([res.status, body]).toEqual([400, { errors: [{ message: "the document nests brackets more than 200 deep", extensions: { code: "QUERY_TOO_DEEP" } }] }]);
      expect(await wsErrors(query, own.ws)).toEqual([expect.objectContaining({ extensions: { code: "QUERY_TOO_DEEP" } })]);
    }
  });
});

describe("page sizes", () => {
  it("refuses runs(first:) above MAX_PAGE_SIZE and metrics(maxPoints:) above MAX_METRIC_POINTS, naming the argument", async () => {
    const page = await post(JSON.stringify({ query: `{ runs(first: 11) { nodes { id } } }` }));
    expect(page.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/MAX_PAGE_SIZE/), extensions: { code: "BAD_USER_INPUT", field: "first" } });
    const started = await server.gql<{ startRun: { id: string } }>(
      `mutation { startRun(input: ${tinyRunLiteral({ iterations: 1 })}) { id } }`,
    );
    const points = await server.gql(`query ($id: ID!) { run(id: $id) { metrics(maxPoints: 51) { iteration } } }`, { id: started.data!.startRun.id });
    expect(points.errors?.[0]).toMatchObject({ message: expect.stringMatching(/MAX_METRIC_POINTS/), extensions: { code: "BAD_USER_INPUT", field: "maxPoints" } });
  });
});

describe("request bodies", () => {
  it("refuses a body larger than MAX_BODY_BYTES with 413 and a GraphQL error body", async () => {
    const res = await post(JSON.stringify({ query: `{ system { version } }`, variables: { padding: "x".repeat(2000) } }));
    expect(res.status).toBe(413);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.body).toEqual({ errors: [{ message: "request body is larger than 2000 bytes (MAX_BODY_BYTES)", extensions: { code: "PAYLOAD_TOO_LARGE" } }] });
  });

  it("answers broken JSON and unsupported charsets with 4xx GraphQL errors, never an HTML page or a stack", async () => {
    const broken = await post(`{"query": "{ system { version } }"`);
    expect(broken.status).toBe(400);
    expect(broken.type).toMatch(/^application\/json/);
    expect(broken.body.errors?.[0]?.extensions).toEqual({ code: "BAD_REQUEST" });
    const charset = await post(JSON.stringify({ query: `{ system { version } }` }), "application/json; charset=iso-8859-1");
    expect(charset.status).toBe(415);
    expect(charset.body.errors?.[0]?.extensions).toEqual({ code: "UNSUPPORTED_MEDIA_TYPE" });
    for (const res of [broken, charset]) expect(JSON.stringify(res.body)).not.toMatch(/node_modules|\bat \S+ \(|stacktrace/);
  });
});

describe("operations per WebSocket connection", () => {
  it("refuses operations beyond MAX_OPERATIONS_PER_CONNECTION until one ends", async () => {
    const client = createClient({ url: server.service.url.replace(/^http/, "ws"), webSocketImpl: WebSocket });
    const everyRun = () => client.iterate({ query: `subscription { runUpdated { id status } }` });
    const open = [everyRun(), everyRun(), everyRun()];
    // Each subscription is registered before any later message on the connection is handled.
    const pending = open.map((stream) => stream.next());
    const refused = client.iterate({ query: `{ system { version } }` });
    await expect(refused.next()).rejects.toEqual([
      expect.objectContaining({ message: expect.stringMatching(/at most 3 operations .*MAX_OPERATIONS_PER_CONNECTION/), extensions: { code: "TOO_MANY_OPERATIONS" } }),
    ]);
    await open[0]!.return?.();
    const allowed = client.iterate<{ __typename: string }>({ query: `{ __typename }` });
    expect((await allowed.next()).value?.data?.__typename).toBe("Query");
    await Promise.all(open.map((stream) => stream.return?.()));
    await Promise.allSettled(pending);
    await client.dispose();
  });
});

describe("connections per client address", () => {
  it("refuses WebSocket connections beyond MAX_CONNECTIONS_PER_ADDRESS with 429 until one closes", async () => {
    const own = await startTestServer({ limits: { maxConnectionsPerAddress: 2 } });
    const sockets = await Promise.all([openSocket(own.service.url), openSocket(own.service.url)]);
    expect(await openSocket(own.service.url)).toEqual({ status: 429, body: "at most 2 WebSocket connections per client address (MAX_CONNECTIONS_PER_ADDRESS)" });
    const first = sockets[0] as { socket: WebSocket };
    first.socket.close();
    await once(first.socket, "close");
    const again = await openSocket(own.service.url);
    expect(again).toHaveProperty("socket");
    for (const opened of [sockets[1], again]) if (opened && "socket" in opened) opened.socket.close();
  });
});

describe("errors clients see", () => {
  it("answer a stored file missing from disk with 404 NOT_FOUND, naming no path", async () => {
    const { store } = server.service;
    const run = await store.createRun({ name: "lost files", config: parseTrainConfig({ dataset: "synthetic", imageSize: 16, iterations: 1 }) });
    const sample = await store.addSample({ runId: run.id, iteration: 1, epoch: 0, kind: "FIXED_NOISE", bytes: 10, path: "samples/gone.png" });
    const res = await fetch(`${server.origin}/files/samples/${sample.id}.png`);
    const body = await res.text();
    expect([res.status, JSON.parse(body)]).toEqual([404, { errors: [{ message: "not found", extensions: { code: "NOT_FOUND" } }] }]);
    expect(body).not.toContain(server.dataDir);
  });

  it("log an answer too large to serialize and send RESPONSE_TOO_LARGE, not V8's bare RangeError", () => {
    const lines: string[] = [];
    const logger = pino({ level: "error" }, { write: (line: string) => void lines.push(line) });
    const tooLong = { toJSON: () => { throw new RangeError("Invalid string length"); } };
    expect(() => stringifyResult(logger)({ data: { run: tooLong } })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/too large to send/), extensions: { code: "RESPONSE_TOO_LARGE", http: { status: 500 } } }),
    );
    expect(lines.map((line) => JSON.parse(line) as { msg: string; err: { message: string } })).toEqual([
      expect.objectContaining({ msg: "answer could not be serialized", err: expect.objectContaining({ message: "Invalid string length" }) }),
    ]);
    expect(stringifyResult(logger)({ data: { ok: true } })).toBe('{"data":{"ok":true}}\n');
  });

  it("mask failures that are not the client's (here, a broken database) as INTERNAL_SERVER_ERROR, without details", async () => {
    const databaseUrl = await freshDatabase();
    const own = await startTestServer({ databaseUrl });
    const db = new Database(databaseUrl.replace(/^file:/, ""));
    db.exec(`DROP TABLE "Metric"; DROP TABLE "Checkpoint"; DROP TABLE "Sample"; DROP TABLE "Run"`);
    db.close();
    const res = await own.gql(`{ runs(first: 1) { nodes { id } } }`);
    expect(res).toEqual({ data: null, errors: [{ message: "internal error", locations: [{ line: 1, column: 3 }], path: ["runs"], extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
  });
});
