import type { ErrorRequestHandler } from "express";
import { STATUS_CODES } from "node:http";
import type { Logger } from "pino";

/** body-parser's error types that name a client's mistake, with the code clients see. */
const CLIENT_ERRORS: Record<string, string> = {
  "entity.parse.failed": "BAD_REQUEST",
  "entity.verify.failed": "BAD_REQUEST",
  "request.aborted": "BAD_REQUEST",
  "request.size.invalid": "BAD_REQUEST",
  "entity.too.large": "PAYLOAD_TOO_LARGE",
  "charset.unsupported": "UNSUPPORTED_MEDIA_TYPE",
  "encoding.unsupported": "UNSUPPORTED_MEDIA_TYPE",
};

interface HttpError extends Error {
  status?: number;
  type?: string;
  limit?: number;
}

/**
 * Errors before or outside GraphQL (a broken JSON body, one too large, a failing file
 * read) answered as GraphQL-shaped JSON: never Express's HTML page, never a stack trace.
 * Only body-parser's messages reach the client; any other error's message may name a
 * file (`ENOENT: no such file or directory, stat '/srv/...'`), so the client gets the
 * status's name and the log gets the error.
 */
export function jsonErrors(logger: Logger): ErrorRequestHandler {
  return (err: HttpError, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = err.status !== undefined && err.status >= 400 && err.status < 600 ? err.status : 500;
    const clientError = err.type === undefined ? undefined : CLIENT_ERRORS[err.type];
    if (!clientError) logger[status >= 500 ? "error" : "warn"]({ err }, "request failed");
    const code = clientError ?? (status === 404 ? "NOT_FOUND" : status < 500 ? "BAD_REQUEST" : "INTERNAL_SERVER_ERROR");
    const message =
      code === "PAYLOAD_TOO_LARGE"
        ? `request body is larger than ${err.limit} bytes (MAX_BODY_BYTES)`
        : clientError
          ? err.message.replace(/^Unexpected token .*? in JSON/, "body is not valid JSON")
          : status < 500
            ? (STATUS_CODES[status] ?? "bad request").toLowerCase()
            : "internal error";
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  };
}
