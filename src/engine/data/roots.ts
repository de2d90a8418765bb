import { realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { DatasetError } from "./dataset.js";

/** Whether `path` (absolute) is one of `roots` or lies under one. */
export function isWithin(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => {
    const inside = relative(root, path);
    return inside === "" || (inside !== ".." && !inside.startsWith("../") && !isAbsolute(inside));
  });
}

/**
 * The folders' real paths, against which real paths are compared: a root that is itself
 * a symbolic link confines to where it points. One that does not exist stays as given.
 */
export function realRoots(roots: readonly string[]): Promise<string[]> {
  return Promise.all(roots.map((root) => realpath(resolve(root)).catch(() => resolve(root))));
}

/**
 * The real path of `path`, refused when it lies outside `roots` (real paths, see
 * realRoots). No roots, no confinement: the CLI reads wherever links lead, like
 * torchvision's ImageFolder. The refusal does not name the target: what lies outside
 * the roots is none of the caller's business.
 */
export async function realPathWithin(path: string, roots: readonly string[] | undefined): Promise<string> {
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined) throw new DatasetError(path, "does not exist");
  if (roots !== undefined && !isWithin(real, roots)) throw new DatasetError(path, "leads outside the data roots");
  return real;
}
