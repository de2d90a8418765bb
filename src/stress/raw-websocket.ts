/**
 * A WebSocket client at the level of bytes, for what the `ws` client never sends:
 * malformed frames, frames that announce more than they carry, handshakes with any Host.
 */
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import type { Duplex } from "node:stream";

/** The socket after a 101 handshake, or the HTTP answer that refused the upgrade. */
export type Upgraded = { socket: Duplex } | { status: number; body: string };

/** Asks for a graphql-ws upgrade at `url` (http: or ws:) with `headers` added (a `host` replaces the real one). */
export function rawUpgrade(url: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const req = request(url.replace(/^ws/, "http"), {
      signal,
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": randomBytes(16).toString("base64"),
        "sec-websocket-protocol": "graphql-transport-ws",
        ...headers,
      },
    });
    req.once("upgrade", (_res, socket) => resolve({ socket }));
    req.once("response", (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk));
      res.once("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.once("error", reject);
    req.end();
  });
}

export interface FrameOptions {
  /** 1 text (default), 2 binary, 8 close...; 3-7 and 11-15 are reserved. */
  opcode?: number;
  fin?: boolean;
  /** The three reserved bits, as a number 0-7: set only by an extension both sides agreed on. */
  rsv?: number;
  /** Clients must mask every frame (default true). */
  masked?: boolean;
  payload?: Buffer;
  /** The length the header announces (default: the payload's). */
  length?: number;
}

/** One client frame, as RFC 6455 section 5.2 lays it out. */
export function frame({ opcode = 1, fin = true, rsv = 0, masked = true, payload = Buffer.alloc(0), length = payload.length }: FrameOptions): Buffer {
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const mask = masked ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126) head.push(mask | length);
  else if (length < 2 ** 16) {
    head.push(mask | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(length);
  } else {
    head.push(mask | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(BigInt(length));
  }
  const key = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = masked ? payload.map((byte, i) => byte ^ key[i % 4]!) : payload;
  return Buffer.concat([Buffer.from(head), extended, key, body]);
}

/** The code of the first close frame the server sends, or undefined when the socket ends without one. */
export function closeCode(socket: Duplex): Promise<number | undefined> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    const done = (code: number | undefined) => {
      socket.removeAllListeners("data");
      socket.destroy();
      resolve(code);
    };
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // Server frames are unmasked; skip any before the close (pings).
      for (;;) {
        if (received.length < 2) return;
        const short = received[1]! & 0x7f;
        const offset = short === 126 ? 4 : short === 127 ? 10 : 2;
        if (received.length < offset) return;
        const length = short === 126 ? received.readUInt16BE(2) : short === 127 ? Number(received.readBigUInt64BE(2)) : short;
        if (received.length < offset + length) return;
        if ((received[0]! & 0x0f) === 8) return done(length >= 2 ? received.readUInt16BE(offset) : undefined);
        received = received.subarray(offset + length);
      }
    });
    socket.once("close", () => done(undefined));
    socket.once("error", () => done(undefined));
  });
}
