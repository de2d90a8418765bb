import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";

export interface UpgradeGateOptions {
  path: string;
  /** Origins, besides the server's own, whose pages may connect; "*" for any. */
  allowedOrigins: string[];
  /** Why a Host header is not the server's, or undefined (http/hosts.ts). */
  hostRefusal: (host: string | undefined) => string | undefined;
  maxConnectionsPerAddress: number;
}

/**
 * Decides which WebSocket upgrades go ahead: the GraphQL path only, addressed to one of
 * the server's names (against DNS rebinding), from pages of allowed origins (a browser sends Origin; a page elsewhere must not ride on a user's
 * access to a loopback server), and not too many at once from one address.
 */
export class UpgradeGate {
  private readonly open = new Map<string, number>();

  constructor(private readonly options: UpgradeGateOptions) {}

  /** Whether the upgrade may go ahead; if not, `socket` is answered with an HTTP error and closed. */
  admit(request: IncomingMessage, socket: Duplex): boolean {
    const refusal = this.refusal(request);
    if (!refusal) return true;
    const [status, reason, message] = refusal;
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
    return false;
  }

  /** Counts an open connection against its address until it closes. */
  track(request: IncomingMessage, connection: WebSocket): void {
    const address = request.socket.remoteAddress ?? "";
    this.open.set(address, (this.open.get(address) ?? 0) + 1);
    connection.once("close", () => {
      const left = (this.open.get(address) ?? 1) - 1;
      if (left > 0) this.open.set(address, left);
      else this.open.delete(address);
    });
  }

  private refusal(request: IncomingMessage): [number, string, string] | undefined {
    const { path, allowedOrigins, hostRefusal, maxConnectionsPerAddress } = this.options;
    if (new URL(request.url ?? "/", "http://host").pathname !== path) return [404, "Not Found", `WebSockets connect at ${path}`];
    const foreignHost = hostRefusal(request.headers.host);
    if (foreignHost) return [403, "Forbidden", foreignHost];
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedOrigins.includes("*") && !allowedOrigins.includes(origin) && !sameHost(origin, request.headers.host)) {
      return [403, "Forbidden", `origin ${origin} may not connect; the server's ALLOWED_ORIGINS lists those that may`];
    }
    if ((this.open.get(request.socket.remoteAddress ?? "") ?? 0) >= maxConnectionsPerAddress) {
      return [429, "Too Many Requests", `at most ${maxConnectionsPerAddress} WebSocket connections per client address (MAX_CONNECTIONS_PER_ADDRESS)`];
    }
    return undefined;
  }
}

/** Whether a page at `origin` was served by this server (as the browser addressed it). */
function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
