import { GraphQLError } from "graphql";
import { InputError } from "../input-error.js";

/** Runs a service call, turning its input errors into BAD_USER_INPUT with the field named. */
export async function userInput<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof InputError) {
      throw new GraphQLError(err.message, { extensions: { code: "BAD_USER_INPUT", field: err.field } });
    }
    throw err;
  }
}
