import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { DatasetError, type Dataset } from "./dataset.js";
import { resizeBilinear } from "./resize.js";

export interface IdxOptions {
  kind: "fashion-mnist" | "mnist";
  /** The folder holding train-images-idx3-ubyte(.gz). */
  path: string;
  imageSize: number;
  /** 1, or 3 to repeat the grey value as RGB. */
  channels?: number;
}

const IMAGES_FILE = "train-images-idx3-ubyte";
/** IDX magic for unsigned bytes in three dimensions. */
const IDX3_UBYTE_MAGIC = 0x00000803;
const HEADER_BYTES = 16;
/** Far beyond MNIST's 28; larger values mean a corrupt header, not a real image. */
const MAX_SIDE = 4096;

const gunzipAsync = promisify(gunzip);

/**
 * The training images of an IDX set (MNIST and Fashion-MNIST share the format). The raw
 * bytes stay in memory (47 MB for 60000 28x28 images); images are converted per batch
 * the way the tutorial's transforms would: ToTensor, bilinear Resize, Normalize(0.5, 0.5).
 */
export async function openIdxDataset({ kind, path, imageSize, channels = 1 }: IdxOptions): Promise<Dataset> {
  if (channels !== 1 && channels !== 3) {
    throw new DatasetError(path, `${kind} images are greyscale: use 1 channel (or 3 to repeat it), not ${channels}`);
  }
  const file = await findImagesFile(path);
  const bytes = await readImagesFile(file);
  if (bytes.length < HEADER_BYTES) throw new DatasetError(file, "too short for an IDX header");
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const magic = header.getUint32(0);
  if (magic !== IDX3_UBYTE_MAGIC) {
    throw new DatasetError(file, `not an IDX image file (magic number ${magic}, expected ${IDX3_UBYTE_MAGIC})`);
  }
  const count = header.getUint32(4);
  const rows = header.getUint32(8);
  const cols = header.getUint32(12);
  if (count === 0 || rows === 0 || cols === 0 || rows > MAX_SIDE || cols > MAX_SIDE) {
    throw new DatasetError(file, `implausible IDX dimensions ${count}x${rows}x${cols}`);
  }
  const area = rows * cols;
  if (bytes.length < HEADER_BYTES + count * area) {
    throw new DatasetError(file, `truncated: ${count} images of ${rows}x${cols} need ${HEADER_BYTES + count * area} bytes, found ${bytes.length}`);
  }
  const pixels = bytes.subarray(HEADER_BYTES, HEADER_BYTES + count * area);
  const outArea = imageSize * imageSize;

  return {
    description: `${kind} (${count} images from ${file})`,
    size: count,
    imageSize,
    channels,
    async load(indices) {
      const out = new Float32Array(indices.length * outArea * channels);
      Array.from(indices).forEach((index, k) => {
        if (!Number.isInteger(index) || index < 0 || index >= count) {
          throw new RangeError(`image index ${index} is outside 0..${count - 1}`);
        }
        // ToTensor's /255 comes before the resize, as in the reference pipeline.
        const unit = Float32Array.from(pixels.subarray(index * area, (index + 1) * area), (v) => v / 255);
        const resized = resizeBilinear(unit, rows, cols, 1, imageSize, imageSize);
        const base = k * outArea * channels;
        resized.forEach((v, p) => out.fill(v * 2 - 1, base + p * channels, base + (p + 1) * channels));
      });
      return out;
    },
  };
}

/** The uncompressed file wins when both exist: it needs no gunzip. */
async function findImagesFile(folder: string): Promise<string> {
  const info = await stat(folder).catch(() => undefined);
  if (info === undefined) throw new DatasetError(folder, "folder does not exist");
  if (!info.isDirectory()) throw new DatasetError(folder, "not a folder");
  for (const name of [IMAGES_FILE, `${IMAGES_FILE}.gz`]) {
    const file = join(folder, name);
    if ((await stat(file).catch(() => undefined))?.isFile()) return file;
  }
  throw new DatasetError(folder, `no ${IMAGES_FILE}(.gz) in this folder`);
}

async function readImagesFile(file: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new DatasetError(file, `cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!file.endsWith(".gz")) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (error) {
    throw new DatasetError(file, `not a valid gzip file: ${error instanceof Error ? error.message : String(error)}`);
  }
}
