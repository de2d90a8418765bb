import { GraphQLError, type GraphQLFormattedError } from "graphql";
import type { Logger } from "pino";

/**
 * What a client sees of an error. Errors a resolver raises on purpose are GraphQLErrors
 * (BAD_USER_INPUT and friends); anything else thrown while executing is a bug or a
 * failing dependency (Prisma, the file system) whose message may reveal paths or SQL,
 * so the client gets "internal error" and the log gets the details. Variables of the
 * wrong type are BAD_USER_INPUT with the field named, over HTTP and WebSocket alike.
 */
export function formatForClient(formatted: GraphQLFormattedError, error: unknown, logger: Logger): GraphQLFormattedError {
  const cause = unexpectedCause(error);
  if (!cause) {
    const field = invalidVariableField(formatted.message);
    return field === undefined ? formatted : { ...formatted, extensions: { ...formatted.extensions, code: "BAD_USER_INPUT", field } };
  }
  logger.error({ err: cause, path: formatted.path }, "resolver failed");
  return { message: "internal error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

/**
 * graphql-js names a variable that does not fit its type (and the place inside it) in
 * the message only: `Variable "$input" got invalid value 1.5 at "input.checkpointEvery"; ...`.
 * Clients get that place as `field`, like the service's own input errors: the path
 * inside an input object, or the variable's name.
 */
function invalidVariableField(message: string): string | undefined {
  const variable = /^Variable "\$(\w+)" got invalid value /.exec(message)?.[1];
  if (variable === undefined) return undefined;
  const inside = new RegExp(` at "${variable}((?:\\.\\w+|\\[\\d+\\])+)"; `).exec(message)?.[1];
  return inside ? inside.replace(/^\./, "") : variable;
}

/**
 * The non-GraphQL error a GraphQLError directly wraps, if any: what a resolver or a
 * subscription's stream threw. Parse, validation and variable errors wrap nothing, or
 * another GraphQLError.
 */
function unexpectedCause(error: unknown): Error | undefined {
  if (!(error instanceof GraphQLError) || !error.originalError) return undefined;
  return error.originalError instanceof GraphQLError ? undefined : error.originalError;
}
