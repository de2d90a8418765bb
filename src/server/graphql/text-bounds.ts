// Bounds on the free text a client sends besides the training config (whose data path
// the engine bounds): run names and ids.
import { InputError, InputErrors } from "../input-error.js";

/**
 * Ids are cuids (25 characters) and runs' cursors about 60: nothing longer names
 * anything, so it is refused before it is looked up, stored or repeated in a message.
 */
export const MAX_ID_LENGTH = 100;

/** Refuses the ids (and cursors) too long to be one, each by its argument's name. */
export function checkIds(ids: Record<string, string | null | undefined>): void {
  InputErrors.throwIfAny(
    Object.entries(ids)
      .filter(([, id]) => id != null && id.length > MAX_ID_LENGTH)
      .map(([field]) => new InputError(field, `must be at most ${MAX_ID_LENGTH} characters: no id or cursor is longer`)),
  );
}

/** Refuses a run name longer than `maxLength` characters (MAX_NAME_LENGTH). */
export function nameError(name: string | undefined, maxLength: number): InputError | undefined {
  return name !== undefined && [...name].length > maxLength ? new InputError("name", `must be at most ${maxLength} characters (MAX_NAME_LENGTH)`) : undefined;
}
