import type { ErrorRequestHandler } from "express";
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
 */
export function jsonErrors(logger: Logger): ErrorRequestHandler {
  return (err: HttpError, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? 500;
    const code = (err.type && CLIENT_ERRORS[err.type]) ?? (status >= 400 && status < 500 ? "BAD_REQUEST" : "INTERNAL_SERVER_ERROR");
    if (status >= 500) logger.error({ err }, "request failed");
    const message =
      code === "PAYLOAD_TOO_LARGE"
        ? `request body is larger than ${err.limit} bytes (MAX_BODY_BYTES)`
        : code === "INTERNAL_SERVER_ERROR"
          ? "internal error"
          : err.message.replace(/^Unexpected token .*? in JSON/, "body is not valid JSON");
    res.status(status >= 400 && status < 600 ? status : 500).json({ errors: [{ message, extensions: { code } }] });
  };
}
