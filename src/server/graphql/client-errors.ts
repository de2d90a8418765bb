import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import type { Logger } from "pino";
import { clientError, MORE_FIELDS } from "./errors.js";

/** One error per refused field: an error that refuses several becomes one for each, at the same place. */
export function splitFieldErrors(errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] {
  return errors.flatMap((error) => {
    const { [MORE_FIELDS]: more, ...extensions } = error.extensions ?? {};
    if (!Array.isArray(more)) return [error];
    const others = (more as { message: string; field: string }[]).map(({ message, field }) => ({ ...error, message, extensions: { ...extensions, field } }));
    return [{ ...error, extensions }, ...others];
  });
}

/** Apollo formats errors one at a time (formatError); this splits them once all are formatted. */
export function splitFieldErrorsOverHttp(): ApolloServerPlugin {
  return {
    requestDidStart: async () => ({
      willSendResponse: async ({ response }) => {
        if (response.body.kind === "single" && response.body.singleResult.errors) {
          response.body.singleResult.errors = splitFieldErrors(response.body.singleResult.errors);
        }
      },
    }),
  };
}

/**
 * What a client sees of an error, over HTTP and WebSocket alike. Errors the service
 * raises on purpose (an InputError, a NotFoundError, ...) get their code from
 * clientError (errors.ts), wherever they were thrown; anything else thrown while
 * executing is a bug or a failing dependency (Prisma, the file system) whose message
 * may reveal paths or SQL, so the client gets "internal error" and the log gets the
 * details. Variables of the wrong type are BAD_USER_INPUT with the field named.
 */
export function formatForClient(formatted: GraphQLFormattedError, error: unknown, logger: Logger): GraphQLFormattedError {
  const cause = unexpectedCause(error);
  const known = cause && clientError(cause);
  if (known) return { message: known.message, locations: formatted.locations, path: formatted.path, extensions: known.extensions };
  if (!cause) {
    const field = invalidVariableField(formatted.message);
    // Errors raised while executing (with a path) are the service's own, which repeat only
    // bounded input (paths, ids); graphql-js's, refusing a request before that, repeat anything.
    const message = formatted.path ? formatted.message : bounded(formatted.message);
    return field === undefined ? { ...formatted, message } : { ...formatted, message, extensions: { ...formatted.extensions, code: "BAD_USER_INPUT", field } };
  }
  logger.error({ err: cause, path: formatted.path }, "resolver failed");
  return { message: "internal error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

/** Longest run of characters without a space that a message repeats whole, and longest message. */
const LONGEST_WORD = 100;
const LONGEST_MESSAGE = 2000;

/**
 * graphql-js repeats a value it refuses whole (`Variable "$first" got invalid value "xxx…"`,
 * twice), and a value may be as long as the request: a megabyte would be answered with
 * two. Long runs of characters without a space are cut, then the message if still long.
 */
function bounded(message: string): string {
  const cut = message.replace(new RegExp(`\\S{${LONGEST_WORD + 1},}`, "g"), (word) => `${word.slice(0, LONGEST_WORD)}… (${word.length} characters)`);
  return cut.length <= LONGEST_MESSAGE ? cut : `${cut.slice(0, LONGEST_MESSAGE)}… (${cut.length - LONGEST_MESSAGE} more characters)`;
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
