import { InputError, InputErrors } from "../input-error.js";
import { badUserInput } from "./client-errors.js";

/** Runs a service call, turning its input errors into BAD_USER_INPUT with each field named. */
export async function userInput<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof InputError || err instanceof InputErrors) throw badUserInput(err);
    throw err;
  }
}
