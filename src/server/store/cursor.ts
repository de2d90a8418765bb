// Opaque cursors for listing runs newest first. A cursor holds the last row's sort key
// rather than its id alone, so paging keeps working when that row is deleted meanwhile.
import { InputError } from "../input-error.js";

export interface RunCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor({ createdAt, id }: RunCursor): string {
  return Buffer.from(JSON.stringify([createdAt.getTime(), id])).toString("base64url");
}

export function decodeCursor(cursor: string): RunCursor {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== 2 || !Number.isFinite(key[0]) || typeof key[1] !== "string") {
    throw new InputError("after", "not a cursor returned by listRuns");
  }
  return { createdAt: new Date(key[0] as number), id: key[1] };
}
