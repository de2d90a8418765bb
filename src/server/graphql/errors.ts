// The service's errors as clients see them, in one place: resolvers throw them as they
// are, and formatForClient (client-errors.ts) answers each with its code, over HTTP and WebSocket.
import { GraphQLError } from "graphql";
import { ConfigError } from "../../engine/config.js";
import { configInputErrors, InputError, InputErrors } from "../input-error.js";
import { GenerateError } from "../runs/generator.js";
import { NotFoundError } from "../store/types.js";

/**
 * Where a refusal of several fields keeps the fields after the first: a resolver raises
 * one error, and splitFieldErrors makes one error of each before the response goes out.
 */
export const MORE_FIELDS = "moreInvalidFields";

/** BAD_USER_INPUT naming the refused field, or each of several. */
export function badUserInput(err: InputError | InputErrors): GraphQLError {
  const [first, ...more] = err instanceof InputErrors ? err.errors : [err];
  return new GraphQLError(first!.message, {
    extensions: {
      code: "BAD_USER_INPUT",
      field: first!.field,
      ...(more.length > 0 ? { [MORE_FIELDS]: more.map(({ message, field }) => ({ message, field })) } : {}),
    },
  });
}

/**
 * The error a client gets for one the service raises on purpose: a refused input
 * (BAD_USER_INPUT with the field), a row that does not exist (NOT_FOUND with what and
 * its id), a render that failed (GENERATE_FAILED). Undefined for anything else: a bug
 * or a failing dependency, which the client sees masked.
 */
export function clientError(err: Error): GraphQLError | undefined {
  if (err instanceof InputError || err instanceof InputErrors) return badUserInput(err);
  if (err instanceof ConfigError) return badUserInput(new InputErrors(configInputErrors(err)));
  if (err instanceof NotFoundError) return new GraphQLError(err.message, { extensions: { code: "NOT_FOUND", entity: err.entity, id: err.id } });
  if (err instanceof GenerateError) return new GraphQLError(err.message, { extensions: { code: "GENERATE_FAILED" } });
  return undefined;
}
