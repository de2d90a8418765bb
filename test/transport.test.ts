import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it, vi } from "vitest";
import { startService } from "../src/server/service.js";
import { DEFAULT_LIMITS } from "../src/server/settings.js";
import { closeCode, frame, rawUpgrade } from "../src/stress/raw-websocket.js";
import { tempDir } from "./helpers.js";
import { startTestServer } from "./server-helpers.js";
import { freshDatabase } from "./store-helpers.js";

const TOKEN = "s3cret-token";
const INIT = Buffer.from(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${TOKEN}` } }));

/** A socket after a successful handshake at `url`. */
async function upgraded(url: string) {
  const result = await rawUpgrade(url);
  if (!("socket" in result)) throw new Error(`upgrade refused: HTTP ${result.status} ${result.body}`);
  return result.socket;
}

/** Sends `bytes` on a fresh connection and resolves with the code of the server's close frame. */
async function closeAfter(url: string, ...bytes: Buffer[]): Promise<number | undefined> {
  const socket = await upgraded(url);
  const code = closeCode(socket);
  for (const b of bytes) socket.write(b);
  return code;
}

describe("WebSocket messages", () => {
  it("longer than MAX_BODY_BYTES are refused from their header, before the token is checked: close 1009", async () => {
    const server = await startTestServer({ apiToken: TOKEN, limits: { maxBodyBytes: 4096 } });
    const url = server.service.url;
    // 90 MiB announced, none of it sent: the server must not wait for it (nor buffer it).
    expect(await closeAfter(url, frame({ payload: Buffer.alloc(0), length: 90 * 2 ** 20 }))).toBe(1009);
    // A whole message over the limit, and one split into fragments each under it.
    const padded = Buffer.from(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${TOKEN}`, pad: "x".repeat(5000) } }));
    expect(await closeAfter(url, frame({ payload: padded }))).toBe(1009);
    expect(await closeAfter(url, frame({ payload: padded.subarray(0, 3000), fin: false }), frame({ opcode: 0, payload: padded.subarray(3000) }))).toBe(1009);
    // Under the limit, the same connection_init is acknowledged.
    const socket = await upgraded(url);
    const firstBytes = new Promise<Buffer>((resolve) => socket.once("data", resolve));
    socket.write(frame({ payload: INIT }));
    expect(JSON.parse((await firstBytes).subarray(2).toString())).toEqual({ type: "connection_ack" });
    socket.destroy();
  });

  it("malformed frames close the connection with one debug line in the log, nothing on the console", async () => {
    const lines: { level: number; msg: string; reason?: string }[] = [];
    const logger = pino(
      { level: "debug", base: undefined },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
          callback();
        },
      }),
    );
    const settings = { host: "127.0.0.1", port: 0, dataDir: await tempDir(), databaseUrl: await freshDatabase(), maxConcurrentRuns: 1, dataRoots: [], allowedOrigins: [], limits: DEFAULT_LIMITS };
    const service = await startService(settings, logger);
    afterAll(() => service.close());
    const consoleError = vi.spyOn(console, "error");
    const consoleWarn = vi.spyOn(console, "warn");
    const malformed: [string, Buffer, number][] = [
      ["reserved bit without an extension", frame({ rsv: 4, payload: INIT }), 1002],
      ["reserved opcode", frame({ opcode: 3, payload: INIT }), 1002],
      ["unmasked", frame({ masked: false, payload: INIT }), 1002],
      ["text that is not UTF-8", frame({ payload: Buffer.from([0xc3, 0x28]) }), 1007],
      ["continuation without a start", frame({ opcode: 0, payload: INIT }), 1002],
    ];
    for (const [, bytes, code] of malformed) expect(await closeAfter(service.url, bytes)).toBe(code);
    const badFrames = lines.filter((line) => line.msg === "WebSocket closed: bad frame");
    expect(badFrames).toHaveLength(malformed.length);
    expect(badFrames.every((line) => line.level === 20 && typeof line.reason === "string")).toBe(true);
    expect(consoleError).not.toHaveBeenCalled();
    expect(consoleWarn).not.toHaveBeenCalled();
    consoleError.mockRestore();
    consoleWarn.mockRestore();
  });
});

describe("response headers", () => {
  it("do not name the framework (no X-Powered-By)", async () => {
    const server = await startTestServer();
    for (const path of ["/healthz", "/", "/graphql?query=%7B__typename%7D", "/no-such-page"]) {
      const res = await fetch(`${server.origin}${path}`, { headers: { "apollo-require-preflight": "1" } });
      expect(res.headers.get("x-powered-by"), path).toBeNull();
    }
  });

  it("let the dashboard and GraphiQL connect to the server itself only", async () => {
    const server = await startTestServer();
    for (const path of ["/", "/graphql"]) {
      const res = await fetch(`${server.origin}${path}`, { headers: { accept: "text/html" } });
      const directives = new Map(res.headers.get("content-security-policy")!.split(/;\s*/).map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));
      expect(directives.get("connect-src"), path).toEqual(["'self'"]);
    }
  });
});
