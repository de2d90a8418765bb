import { GraphQLError, type GraphQLFormattedError } from "graphql";
import type { Logger } from "pino";

/**
 * What a client sees of an error. Errors a resolver raises on purpose are GraphQLErrors
 * (BAD_USER_INPUT and friends); anything else thrown while executing is a bug or a
 * failing dependency (Prisma, the file system) whose message may reveal paths or SQL,
 * so the client gets "internal error" and the log gets the details.
 */
export function formatForClient(formatted: GraphQLFormattedError, error: unknown, logger: Logger): GraphQLFormattedError {
  const cause = unexpectedCause(error);
  if (!cause) return formatted;
  logger.error({ err: cause, path: formatted.path }, "resolver failed");
  return { message: "internal error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
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
