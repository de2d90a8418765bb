import type { RequestHandler } from "express";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { isLoopback } from "./auth.js";

/** `name` or `name:port`, the name possibly a bracketed IPv6 address: nothing else is a Host. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^\s:/?#@[\]\\]+)(?::\d{1,5})?$/i;

/** The Host names that are always this server's: a DNS rebinding needs a name the attacker controls. */
function alwaysOurs(name: string): boolean {
  // Browsers resolve localhost themselves; an IP address resolves to nothing.
  return name === "localhost" || isIP(name.replace(/^\[(.*)\]$/, "$1")) !== 0;
}

/**
 * Which Host headers the server answers, against DNS rebinding: a page on a name the
 * attacker controls, re-pointed at this server's address, would otherwise talk to it as
 * its own origin (so neither the browser's same-origin policy, the WebSocket origin check
 * nor CSRF prevention would stop it). IP addresses and `localhost` are always the
 * server's, on any port (an SSH tunnel changes it); bound beyond loopback, so are the
 * machine's host name and the bound name; any other name must be in `allowedHosts`
 * ("*" for any). A request without a Host is not a browser's, so it passes.
 *
 * Returns why a Host is refused, or undefined when it is the server's.
 */
export function hostChecker(bindHost: string, allowedHosts: string[]): (host: string | undefined) => string | undefined {
  const names = new Set(allowedHosts.map(normalise));
  if (!isLoopback(bindHost)) names.add(normalise(bindHost)).add(normalise(hostname()));
  const anyHost = names.has("*");
  return (host) => {
    if (host === undefined || anyHost) return undefined;
    const name = HOST_HEADER.exec(host)?.[1];
    if (name !== undefined && (alwaysOurs(normalise(name)) || names.has(normalise(name)))) return undefined;
    return `Host ${JSON.stringify(host)} is not a name of this server; the server's ALLOWED_HOSTS lists the names it answers besides its own`;
  };
}

/** Lower case, without the trailing dot of an absolute name. */
function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** Refuses HTTP requests for a Host that is not the server's with 403 and a GraphQL-shaped error. */
export function ownHostsOnly(refusal: (host: string | undefined) => string | undefined): RequestHandler {
  return (req, res, next) => {
    const message = refusal(req.headers.host);
    if (message === undefined) return next();
    res.status(403).json({ errors: [{ message, extensions: { code: "HOST_NOT_ALLOWED" } }] });
  };
}
