import { createClient } from "graphql-ws";
import { hostname } from "node:os";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { hostChecker } from "../src/server/http/hosts.js";
import { startService } from "../src/server/service.js";
import { DEFAULT_LIMITS, readSettings } from "../src/server/settings.js";
import { tempDir, tinyRunLiteral } from "./helpers.js";
import { spawnServer } from "./process-helpers.js";
import { openSocket, startTestServer } from "./server-helpers.js";
import { rawUpgrade } from "../src/stress/raw-websocket.js";
import { requestAs } from "../src/stress/transport-attacks.js";
import { freshDatabase } from "./store-helpers.js";

const TOKEN = "s3cret-token";
const MUTATION = `mutation { startRun(input: ${tinyRunLiteral({ iterations: 1 })}) { id } }`;

async function post(url: string, query: string, authorization?: string) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
}

/** Connects over graphql-ws and resolves with the close code, or "acknowledged". */
function connect(url: string, connectionParams?: Record<string, unknown>): Promise<number | "acknowledged"> {
  return new Promise((resolve) => {
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: false,
      // The close is the result here, reported through "closed": no console noise.
      onNonLazyError: () => undefined,
    });
    client.on("connected", () => {
      resolve("acknowledged");
      void client.dispose();
    });
    client.on("closed", (event) => resolve((event as { code: number }).code));
  });
}

describe("CSRF prevention (Apollo's, kept on)", () => {
  it("refuses requests a browser could send cross-site without a preflight", async () => {
    const server = await startTestServer();
    const simplePost = await fetch(server.service.url, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ query: MUTATION }),
    });
    expect(simplePost.status).toBe(400);
    const simpleGet = await fetch(`${server.service.url}?query=${encodeURIComponent("{ runs(first: 1) { nodes { id } } }")}`);
    expect(simpleGet.status).toBe(400);
    expect(await simpleGet.text()).toMatch(/CSRF/);
    expect((await server.service.store.listRuns({ first: 10 })).runs).toHaveLength(0);
  });
});

describe("API token", () => {
  it("is needed for mutations over HTTP, not for queries", async () => {
    const server = await startTestServer({ apiToken: TOKEN });
    const anonymous = await post(server.service.url, MUTATION);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await post(server.service.url, MUTATION, "Bearer wrong")).status).toBe(401);
    const runs = await server.service.store.listRuns({ first: 10 });
    expect(runs.runs).toHaveLength(0); // nothing was stored
    expect((await post(server.service.url, MUTATION, `Bearer ${TOKEN}`)).body.data).toBeTruthy();
    expect((await post(server.service.url, "{ runs(first: 5) { nodes { id } } }")).status).toBe(200);
  });

  it("is needed in connection_init for WebSocket connections: otherwise 4403", async () => {
    const server = await startTestServer({ apiToken: TOKEN });
    const url = server.service.url.replace(/^http/, "ws");
    expect(await connect(url)).toBe(4403);
    expect(await connect(url, { authorization: "Bearer wrong" })).toBe(4403);
    expect(await connect(url, { authorization: `Bearer ${TOKEN}` })).toBe("acknowledged");
    expect(await connect(url, { Authorization: `Bearer ${TOKEN}` })).toBe("acknowledged"); // as GraphiQL sends it
  });

  it("takes the Bearer scheme in any case (RFC 7235), over HTTP and WebSocket", async () => {
    const server = await startTestServer({ apiToken: TOKEN });
    for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
      expect((await post(server.service.url, MUTATION, `${scheme} ${TOKEN}`)).body.data, scheme).toBeTruthy();
      expect(await connect(server.service.url.replace(/^http/, "ws"), { authorization: `${scheme} ${TOKEN}` }), scheme).toBe("acknowledged");
    }
    for (const wrong of [`Basic ${TOKEN}`, `bearer${TOKEN}`, TOKEN, `bearer ${TOKEN.toUpperCase()}`]) {
      expect((await post(server.service.url, MUTATION, wrong)).status, wrong).toBe(401);
    }
  });

  it("comes from the environment, and binding beyond loopback without one is refused unless allowed", async () => {
    expect(readSettings([], { API_TOKEN: TOKEN }).apiToken).toBe(TOKEN);
    expect(readSettings([], {}).host).toBe("127.0.0.1");
    const settings = { host: "0.0.0.0", port: 0, dataDir: await tempDir(), databaseUrl: await freshDatabase(), maxConcurrentRuns: 1, dataRoots: [], allowedOrigins: [], limits: DEFAULT_LIMITS };
    await expect(startService(settings, pino({ level: "silent" }))).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without API_TOKEN/);
    const allowed = await startService({ ...settings, allowInsecure: true }, pino({ level: "silent" }));
    await allowed.close();
  });
});

describe("WebSocket origins", () => {
  it("lets in the server's own pages, listed origins and non-browser clients; refuses other origins with 403", async () => {
    const server = await startTestServer({ allowedOrigins: ["https://dash.example"] });
    const url = server.service.url;
    for (const origin of [undefined, server.origin, "https://dash.example"]) {
      const opened = await openSocket(url, origin);
      expect(opened).toHaveProperty("socket");
      if ("socket" in opened) opened.socket.close();
    }
    for (const origin of ["https://evil.example", "null", `${server.origin}.evil.example`]) {
      expect(await openSocket(url, origin)).toEqual({ status: 403, body: `origin ${origin} may not connect; the server's ALLOWED_ORIGINS lists those that may` });
    }
  });
});

describe("Host names (DNS rebinding)", () => {
  it("bound to loopback, answers localhost, IP addresses and ALLOWED_HOSTS on any port; refuses other names with 403, storing nothing", async () => {
    const server = await startTestServer({ allowedHosts: ["dcgan.example"] });
    const { url } = server.service;
    const port = new URL(url).port;
    // A page on evil.example, re-pointed at 127.0.0.1: its Host and Origin agree.
    const rebound = { host: `evil.example:${port}`, origin: `http://evil.example:${port}` };
    const refused = await requestAs(url, rebound, JSON.stringify({ query: MUTATION }));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({
      errors: [{ message: `Host "evil.example:${port}" is not a name of this server; the server's ALLOWED_HOSTS lists the names it answers besides its own`, extensions: { code: "HOST_NOT_ALLOWED" } }],
    });
    expect((await requestAs(`${server.origin}/`, rebound)).status).toBe(403);
    expect((await server.service.store.listRuns({ first: 10 })).runs).toHaveLength(0);
    expect(await rawUpgrade(url, rebound)).toEqual({ status: 403, body: `Host "evil.example:${port}" is not a name of this server; the server's ALLOWED_HOSTS lists the names it answers besides its own` });
    // An SSH tunnel (localhost:8080) or a reverse proxy (dcgan.example) changes the port.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "localhost:8080", "LOCALHOST", "dcgan.example", "DCGAN.example."]) {
      expect((await requestAs(url, { host }, JSON.stringify({ query: "{ runs(first: 1) { nodes { id } } }" }))).status, host).toBe(200);
      // A browser sends both in lower case.
      const upgrade = await rawUpgrade(url, { host: host.toLowerCase(), origin: `http://${host.toLowerCase()}` });
      expect(upgrade, host).toHaveProperty("socket");
      if ("socket" in upgrade) upgrade.socket.destroy();
    }
  });

  it("bound beyond loopback, also answers the machine's name and the bound name; * answers any", () => {
    const loopback = hostChecker("127.0.0.1", []);
    const wildcard = hostChecker("0.0.0.0", []);
    const named = hostChecker("gpu-box.lan", ["dcgan.example"]);
    for (const host of ["192.0.2.7:4000", "[fd00::2]:4000", "localhost:4000"]) {
      for (const check of [loopback, wildcard, named]) expect(check(host), host).toBeUndefined();
    }
    expect(loopback(`${hostname()}:4000`)).toMatch(/is not a name of this server/);
    expect(wildcard(`${hostname()}:4000`)).toBeUndefined();
    expect(named(`${hostname()}:4000`)).toBeUndefined();
    expect(named("gpu-box.lan:4000")).toBeUndefined();
    expect(named("dcgan.example")).toBeUndefined();
    for (const host of ["gpu-box.lan.evil.example", "evil.example", "user@localhost", "localhost/x", ""]) {
      for (const check of [loopback, wildcard, named]) expect(check(host), host).toMatch(/is not a name of this server/);
    }
    expect(hostChecker("127.0.0.1", ["*"])("evil.example")).toBeUndefined();
    expect(readSettings(["--allowed-hosts", "a.example, b.example"], {}).allowedHosts).toEqual(["a.example", "b.example"]);
    expect(readSettings([], { ALLOWED_HOSTS: "c.example" }).allowedHosts).toEqual(["c.example"]);
  });
});

describe("logs", () => {
  it("never contain the API token, even at the most verbose level", async () => {
    const server = await spawnServer({ DATA_DIR: await tempDir(), DATABASE_URL: await freshDatabase(), API_TOKEN: TOKEN, LOG_LEVEL: "trace" });
    const url = server.url.replace(/^http/, "ws");
    expect((await post(server.url, MUTATION, `Bearer ${TOKEN}`)).body.data).toBeTruthy();
    expect((await post(server.url, MUTATION, `Bearer ${TOKEN}x`)).status).toBe(401);
    expect(await connect(url, { authorization: `Bearer ${TOKEN}` })).toBe("acknowledged");
    expect(await connect(url, { authorization: `Bearer ${TOKEN}x` })).toBe(4403);
    expect(await server.stop()).toBe(0);
    expect(server.output()).toMatch(/"msg":"run started"/);
    expect(server.output()).not.toContain(TOKEN);
  });
});
