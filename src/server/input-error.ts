import { ConfigError, parseTrainConfig, type TrainConfig, type TrainConfigInput } from "../engine/config.js";

/** A request the service refuses: names the offending field; nothing was changed. */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "InputError";
  }
}

/** Every field a request got wrong, refused together so that the client can fix them in one go. */
export class InputErrors extends Error {
  constructor(readonly errors: readonly InputError[]) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "InputErrors";
  }

  /** Throws when there are any: one as itself, several together. */
  static throwIfAny(errors: readonly InputError[]): void {
    if (errors.length === 1) throw errors[0]!;
    if (errors.length > 1) throw new InputErrors(errors);
  }
}

/** Runs a check, adding the input errors it throws to `found` (and answering undefined) instead of throwing them. */
export async function collectInputErrors<T>(found: InputError[], check: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof InputError) found.push(err);
    else if (err instanceof InputErrors) found.push(...err.errors);
    else throw err;
    return undefined;
  }
}

/** The engine's names for the fields StartRunInput nests under `dataset`. */
const INPUT_FIELDS: Record<string, string> = { dataset: "dataset.kind", dataPath: "dataset.path" };

/** A config with its defaults, or its invalid settings, each under the name a client sent it by. */
export function parseConfigInput(input: TrainConfigInput): { config?: TrainConfig; errors: InputError[] } {
  try {
    return { config: parseTrainConfig(input), errors: [] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { errors: configInputErrors(err) };
  }
}

/** A config's invalid settings, each under the name a client sent it by. */
export function configInputErrors(err: ConfigError): InputError[] {
  return err.issues.map(({ field, detail }) => new InputError(INPUT_FIELDS[field] ?? field, detail));
}
