import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { resolve, sep } from "node:path";

/** What a user can do about a failed write; Node's own messages name the system call, not the file. */
const WRITE_FAILURES: Record<string, string> = {
  ENOSPC: "the disk is full (no space left on device)",
  EDQUOT: "the disk quota is used up",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOTDIR: "a part of the path is a file, not a folder",
};

/** A file or folder that could not be written, named, with the reason in words. */
export class FileWriteError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException).code;
    super(`cannot write ${path}: ${(code && WRITE_FAILURES[code]) ?? (cause as Error).message}`, { cause });
    this.name = "FileWriteError";
  }
}

/** Creates a folder (and its parents) for output files. */
export async function makeFolder(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw new FileWriteError(path, await whyNoFolder(path, err));
  }
}

/**
 * A recursive mkdir reports ENOENT whatever stopped it (a read-only file system, say);
 * creating the levels one by one finds the real reason.
 */
async function whyNoFolder(path: string, err: unknown): Promise<unknown> {
  if ((err as NodeJS.ErrnoException).code !== "ENOENT") return err;
  const levels = resolve(path).split(sep);
  for (let depth = 2; depth <= levels.length; depth++) {
    try {
      await mkdir(levels.slice(0, depth).join(sep));
    } catch (levelErr) {
      if ((levelErr as NodeJS.ErrnoException).code !== "EEXIST") return levelErr;
    }
  }
  return err;
}

/**
 * Writes a file so that it is either absent or complete: data goes to a temporary
 * name in the same folder, is flushed to disk, then renamed over the target (atomic
 * on POSIX file systems). A crash mid-write leaves only a `.tmp-` file behind; a
 * failed write (a full disk) leaves nothing.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    const file = await open(tmp, "w");
    try {
      // writeFile, unlike write, goes on after a short write: a disk filling up mid-chunk
      // must end in ENOSPC, not in a file cut short.
      for (const chunk of Array.isArray(data) ? data : [data]) await file.writeFile(chunk);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new FileWriteError(path, err);
  }
}
