import { GraphQLError } from "graphql";
import { InputError } from "../runs/errors.js";
import { StoreInputError } from "../store/types.js";

/** Runs a service call, turning its input errors into BAD_USER_INPUT with the field named. */
export async function userInput<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof InputError || err instanceof StoreInputError) {
      throw new GraphQLError(err.message, { extensions: { code: "BAD_USER_INPUT", field: err.field } });
    }
    throw err;
  }
}
