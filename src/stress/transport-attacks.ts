/**
 * The flood's attacks below GraphQL: requests and upgrades for a name that is not the
 * server's (DNS rebinding), WebSocket messages over the body limit, and frames that
 * break the WebSocket protocol. Each resolves with how the server answered.
 */
import { request } from "node:http";
import { closeCode, frame, rawUpgrade } from "./raw-websocket.js";

export interface TransportAttack {
  name: string;
  kind: "HTTP" | "WS";
  /** The answer of a server that refuses it. */
  expected: string;
  /** The server's answer, e.g. "HTTP 403 HOST_NOT_ALLOWED" or "close 1009"; rejects when there was none. */
  run(url: string, signal: AbortSignal): Promise<string>;
}

/** An HTTP request with any Host header (fetch always sends the URL's). */
export function requestAs(url: string, headers: Record<string, string>, body?: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const method = body === undefined ? "GET" : "POST";
    const req = request(url, { method, signal, headers: { "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk));
      res.once("end", () => resolve({ status: res.statusCode!, body: text }));
    });
    req.once("error", reject);
    req.end(body);
  });
}

/** A page on rebound.example, whose name now resolves to the server: its Host and Origin agree. */
const REBOUND = { host: "rebound.example", origin: "http://rebound.example" };
const INIT = Buffer.from(JSON.stringify({ type: "connection_init" }));
/** Larger than the default MAX_BODY_BYTES (1 MiB). */
const OVER_LIMIT = 2 ** 20 + 1;

/** Opens a WebSocket, sends `frames` and answers with the code the server closed it with. */
function afterUpgrade(name: string, expectedCode: number, ...frames: Buffer[]): TransportAttack {
  return {
    name,
    kind: "WS",
    expected: `close ${expectedCode}`,
    run: async (url, signal) => {
      const upgraded = await rawUpgrade(url, {}, signal);
      if (!("socket" in upgraded)) return `upgrade refused HTTP ${upgraded.status}`;
      const { socket } = upgraded;
      signal.addEventListener("abort", () => socket.destroy(), { once: true });
      const code = closeCode(socket);
      for (const bytes of frames) socket.write(bytes);
      const closed = await code;
      if (closed === undefined) throw new Error("the connection ended without a close frame");
      return `close ${closed}`;
    },
  };
}

export function transportAttacks(): TransportAttack[] {
  return [
    {
      name: "mutation for a foreign Host",
      kind: "HTTP",
      expected: "HTTP 403 HOST_NOT_ALLOWED",
      run: async (url, signal) => {
        const res = await requestAs(url, REBOUND, JSON.stringify({ query: `mutation { stopRun(id: "rebound") { id } }` }), signal);
        const code = (JSON.parse(res.body) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
        return `HTTP ${res.status} ${code ?? "no code"}`;
      },
    },
    {
      name: "upgrade for a foreign Host",
      kind: "WS",
      expected: "upgrade refused HTTP 403",
      run: async (url, signal) => {
        const upgraded = await rawUpgrade(url, REBOUND, signal);
        if ("socket" in upgraded) {
          upgraded.socket.destroy();
          return "upgraded";
        }
        return `upgrade refused HTTP ${upgraded.status}`;
      },
    },
    // 1009 Message Too Big, 1002 Protocol Error, 1007 Invalid Frame Payload Data.
    afterUpgrade("frame announcing 90 MiB, none sent", 1009, frame({ length: 90 * 2 ** 20 })),
    afterUpgrade("message over MAX_BODY_BYTES", 1009, frame({ payload: Buffer.alloc(OVER_LIMIT, 0x20) })),
    afterUpgrade(
      "message over MAX_BODY_BYTES in fragments",
      1009,
      frame({ fin: false, payload: Buffer.alloc(2 ** 19, 0x20) }),
      frame({ opcode: 0, payload: Buffer.alloc(OVER_LIMIT - 2 ** 19, 0x20) }),
    ),
    afterUpgrade("frame with a reserved bit", 1002, frame({ rsv: 4, payload: INIT })),
    afterUpgrade("frame with a reserved opcode", 1002, frame({ opcode: 3, payload: INIT })),
    afterUpgrade("unmasked frame", 1002, frame({ masked: false, payload: INIT })),
    afterUpgrade("text frame not UTF-8", 1007, frame({ payload: Buffer.from([0xc3, 0x28]) })),
  ];
}
