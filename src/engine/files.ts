import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";

/**
 * Writes a file so that it is either absent or complete: data goes to a temporary
 * name in the same folder, is flushed to disk, then renamed over the target (atomic
 * on POSIX file systems). A crash mid-write leaves only a `.tmp-` file behind.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const file = await open(tmp, "w");
  try {
    for (const chunk of Array.isArray(data) ? data : [data]) await file.write(chunk);
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await file.close();
  await rename(tmp, path);
}
