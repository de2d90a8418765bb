/** The directives every page of this server sends: nothing from anywhere but the server itself. */
const SELF_ONLY: Record<string, string> = {
  "default-src": "'self'",
  "script-src": "'self'",
  "style-src": "'self'",
  "img-src": "'self' data:",
  // CSP3's 'self' covers the page's own ws:/wss: address (every browser since 2022): the
  // pages' WebSockets go to their own host, and bare ws:/wss: would allow any host.
  "connect-src": "'self'",
  "object-src": "'none'",
  "base-uri": "'none'",
  "form-action": "'self'",
  "frame-ancestors": "'self'",
};

/** A Content-Security-Policy header value: the self-only directives, with `overrides` replacing or adding some. */
export function selfOnlyCsp(overrides: Record<string, string> = {}): string {
  return Object.entries({ ...SELF_ONLY, ...overrides })
    .map(([directive, sources]) => `${directive} ${sources}`)
    .join("; ");
}
