import { type FormattedExecutionResult, GraphQLError } from "graphql";
import type { Logger } from "pino";

/**
 * Apollo's serializer of answers (JSON and a newline), except that a failure is logged
 * and answered cleanly: an answer too large for one string (V8's limit is about 512 MiB,
 * "Invalid string length") with RESPONSE_TOO_LARGE, anything else as an internal error.
 * Apollo itself would send the bare exception's message with a 500 and log nothing.
 */
export function stringifyResult(logger: Logger): (value: FormattedExecutionResult) => string {
  return (value) => {
    try {
      return `${JSON.stringify(value)}\n`;
    } catch (err) {
      logger.error({ err }, "answer could not be serialized");
      const [message, code] =
        err instanceof RangeError
          ? ["the answer is too large to send: ask for fewer fields, aliases or metric points", "RESPONSE_TOO_LARGE"]
          : ["internal error", "INTERNAL_SERVER_ERROR"];
      throw new GraphQLError(message, { extensions: { code, http: { status: 500 } } });
    }
  };
}
