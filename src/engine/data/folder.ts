import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { DatasetError, type Dataset } from "./dataset.js";
import { realPathWithin, realRoots } from "./roots.js";

export interface FolderOptions {
  path: string;
  imageSize: number;
  channels?: number;
  /** Folders every folder and image the walk follows must really lie in; anywhere when absent. */
  dataRoots?: readonly string[];
}

const IMAGE_EXTENSION = /\.(jpe?g|png)$/i;
/** Enough to keep sharp's thread pool busy without opening thousands of files at once. */
const HEADER_CONCURRENCY = 16;

/**
 * Every JPEG/PNG under a folder, like torchvision's ImageFolder on CelebA (class
 * subfolders are ignored: a GAN needs no labels). Headers are checked up front so a bad
 * file fails the run at once instead of hours into training.
 */
export async function openImageFolder({ path, imageSize, channels = 3, dataRoots }: FolderOptions): Promise<Dataset> {
  // sharp cannot write grey plus alpha as raw pixels, so 2 channels are not offered.
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new DatasetError(path, `images are read as 1 (grey), 3 (RGB) or 4 (RGBA) channels, not ${channels}`);
  }
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new DatasetError(path, "folder does not exist");
  if (!info.isDirectory()) throw new DatasetError(path, "not a folder");
  const roots = dataRoots && (await realRoots(dataRoots));
  const files = (await listImages(path, new Set(), roots)).sort();
  if (files.length === 0) throw new DatasetError(path, "no .jpg, .jpeg or .png images in this folder");
  await checkHeaders(files);

  const pixels = imageSize * imageSize * channels;
  return {
    description: `folder (${files.length} images from ${path})`,
    size: files.length,
    imageSize,
    channels,
    async load(indices) {
      // Every index is checked before any decode starts, so none is left running.
      const chosen = Array.from(indices, (index) => {
        const file = files[index];
        if (file === undefined) throw new RangeError(`image index ${index} is outside 0..${files.length - 1}`);
        return file;
      });
      const images = await Promise.all(chosen.map((file) => decode(file, imageSize, channels)));
      const out = new Float32Array(indices.length * pixels);
      images.forEach((image, k) => image.forEach((v, p) => (out[k * pixels + p] = v / 127.5 - 1)));
      return out;
    },
  };
}

/**
 * Follows symbolic links like os.walk(followlinks=True), within `roots` when given;
 * `seen` stops link cycles.
 */
async function listImages(folder: string, seen: Set<string>, roots: readonly string[] | undefined): Promise<string[]> {
  const real = await realPathWithin(folder, roots);
  if (seen.has(real)) return [];
  seen.add(real);
  const found: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const full = join(folder, entry.name);
    const target = entry.isSymbolicLink() ? await stat(full).catch(() => undefined) : entry;
    if (target?.isDirectory()) found.push(...(await listImages(full, seen, roots)));
    else if (target?.isFile() && IMAGE_EXTENSION.test(entry.name)) {
      // Only a link can lead out of a folder that lies within the roots.
      if (entry.isSymbolicLink()) await realPathWithin(full, roots);
      found.push(full);
    }
  }
  return found;
}

async function checkHeaders(files: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let file = files[next++]; file !== undefined; file = files[next++]) {
      try {
        await sharp(file).metadata();
      } catch (error) {
        next = files.length; // the other workers stop too
        throw new DatasetError(file, `not a readable JPEG/PNG image: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEADER_CONCURRENCY, files.length) }, worker));
}

/**
 * Shorter side to `size`, then the centre square (torchvision's Resize + CenterCrop),
 * as interleaved uint8 with exactly `channels` channels: alpha is added or dropped.
 */
async function decode(file: string, size: number, channels: number): Promise<Buffer> {
  let image = sharp(file).resize(size, size, { fit: "cover", position: "centre", kernel: "linear" });
  image = channels === 4 ? image.ensureAlpha() : image.removeAlpha();
  image = image.toColourspace(channels === 1 ? "b-w" : "srgb");
  try {
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels || info.width !== size || info.height !== size) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
    }
    return data;
  } catch (error) {
    throw new DatasetError(file, `cannot decode image: ${error instanceof Error ? error.message : String(error)}`);
  }
}
