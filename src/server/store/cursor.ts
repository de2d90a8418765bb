// Opaque cursors for listing runs (and sweeps) newest first. A cursor holds the last row's sort key
// rather than its id alone, so paging keeps working when that row is deleted meanwhile.
import { InputError } from "../input-error.js";

export interface RunCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor({ createdAt, id }: RunCursor): string {
  return Buffer.from(JSON.stringify([createdAt.getTime(), id])).toString("base64url");
}

function parse(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    return undefined;
  }
}

/** `listing`: the query the cursor must come from, for the refusal's message. */
export function decodeCursor(cursor: string, listing = "runs"): RunCursor {
  const key = parse(cursor);
  // Dates span ±8.64e15 ms; beyond that `new Date` is invalid and the database query would fail.
  const valid = Array.isArray(key) && key.length === 2 && Number.isSafeInteger(key[0]) && Math.abs(key[0] as number) <= 8.64e15 && typeof key[1] === "string";
  if (!valid) {
    throw new InputError("after", `not a cursor returned by ${listing}`);
  }
  return { createdAt: new Date(key[0] as number), id: key[1] };
}
