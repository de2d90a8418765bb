// Every limit a client can run into: each set low here (they are all configurable), each
// answered with its own code and a message naming the setting.
import Database from "better-sqlite3";
import { createClient } from "graphql-ws";
import { once } from "node:events";
import { beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { openSocket, startTestServer, type TestServer } from "./server-helpers.js";
import { freshDatabase } from "./store-helpers.js";

const LIMITS = { maxQueryDepth: 4, maxQueryCost: 500, maxPageSize: 10, maxMetricPoints: 50, maxBodyBytes: 2000, maxOperationsPerConnection: 3 };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ limits: LIMITS });
});

async function post(body: string, contentType = "application/json") {
  const res = await fetch(server.service.url, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

/** The errors a WebSocket operation ends with (graphql-ws rejects with them). */
async function wsErrors(query: string): Promise<unknown> {
  const stream = server.ws.iterate({ query });
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

describe("page sizes", () => {
  it("refuses runs(first:) above MAX_PAGE_SIZE and metrics(maxPoints:) above MAX_METRIC_POINTS, naming the argument", async () => {
    const page = await post(JSON.stringify({ query: `{ runs(first: 11) { nodes { id } } }` }));
    expect(page.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/MAX_PAGE_SIZE/), extensions: { code: "BAD_USER_INPUT", field: "first" } });
    const started = await server.gql<{ startRun: { id: string } }>(
      `mutation { startRun(input: { imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, iterations: 1, backend: CPU }) { id } }`,
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
    const allowed = client.iterate<{ system: { version: string } }>({ query: `{ system { version } }` });
    expect((await allowed.next()).value?.data?.system.version).toBeTruthy();
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
