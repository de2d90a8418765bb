import { createReadStream } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream";
import { promisify } from "node:util";
import { createGunzip, gunzip } from "node:zlib";
import { DatasetError, type Dataset, type DatasetSummary } from "./dataset.js";
import { resizeBilinear } from "./resize.js";
import { realPathWithin, realRoots } from "./roots.js";

export interface IdxOptions {
  kind: "fashion-mnist" | "mnist";
  /** The folder holding train-images-idx3-ubyte(.gz). */
  path: string;
  imageSize: number;
  /** 1, or 3 to repeat the grey value as RGB. */
  channels?: number;
  /** Folders the folder and the file must really lie in; anywhere when absent. */
  dataRoots?: readonly string[];
}

const IMAGES_FILE = "train-images-idx3-ubyte";
/** IDX magic for unsigned bytes in three dimensions. */
const IDX3_UBYTE_MAGIC = 0x00000803;
const HEADER_BYTES = 16;
/** Far beyond MNIST's 28; larger values mean a corrupt header, not a real image. */
const MAX_SIDE = 4096;

const gunzipAsync = promisify(gunzip);

interface IdxHeader {
  file: string;
  count: number;
  rows: number;
  cols: number;
}

/**
 * The training images of an IDX set (MNIST and Fashion-MNIST share the format). The raw
 * bytes stay in memory (47 MB for 60000 28x28 images); images are converted per batch
 * the way the tutorial's transforms would: ToTensor, bilinear Resize, Normalize(0.5, 0.5).
 */
export async function openIdxDataset(options: IdxOptions): Promise<Dataset> {
  const { imageSize, channels = 1 } = options;
  const file = await findImagesFile(options);
  const bytes = await readImagesFile(file);
  const header = parseHeader(file, bytes);
  checkLength(header, bytes.length);
  const { count, rows, cols } = header;
  const area = rows * cols;
  const pixels = bytes.subarray(HEADER_BYTES, HEADER_BYTES + count * area);
  const outArea = imageSize * imageSize;

  return {
    ...summary(options, header),
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

/**
 * What openIdxDataset would give, from the header alone: the memory and time it takes
 * do not grow with the file, so a server can check many requests at once. An
 * uncompressed file's length is checked too; a gzipped one's is only known by
 * decompressing it all, so a truncated one fails when training opens it.
 */
export async function inspectIdxDataset(options: IdxOptions): Promise<DatasetSummary> {
  const file = await findImagesFile(options);
  const { head, length } = await readHead(file);
  const header = parseHeader(file, head);
  if (length !== undefined) checkLength(header, length);
  return summary(options, header);
}

function summary({ kind, imageSize, channels = 1 }: IdxOptions, { file, count }: IdxHeader): DatasetSummary {
  return { description: `${kind} (${count} images from ${file})`, size: count, imageSize, channels };
}

/** The header at the start of `bytes`, checked. */
function parseHeader(file: string, bytes: Uint8Array): IdxHeader {
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
  return { file, count, rows, cols };
}

function checkLength({ file, count, rows, cols }: IdxHeader, length: number): void {
  const needed = HEADER_BYTES + count * rows * cols;
  if (length < needed) throw new DatasetError(file, `truncated: ${count} images of ${rows}x${cols} need ${needed} bytes, found ${length}`);
}

/**
 * The images file, after the checks that need no reading; within `dataRoots` when
 * given. The uncompressed file wins when both exist: it needs no gunzip.
 */
async function findImagesFile({ kind, path, channels = 1, dataRoots }: IdxOptions): Promise<string> {
  if (channels !== 1 && channels !== 3) {
    throw new DatasetError(path, `${kind} images are greyscale: use 1 channel (or 3 to repeat it), not ${channels}`);
  }
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new DatasetError(path, "folder does not exist");
  if (!info.isDirectory()) throw new DatasetError(path, "not a folder");
  const roots = dataRoots && (await realRoots(dataRoots));
  await realPathWithin(path, roots);
  for (const name of [IMAGES_FILE, `${IMAGES_FILE}.gz`]) {
    const file = join(path, name);
    if ((await stat(file).catch(() => undefined))?.isFile()) {
      await realPathWithin(file, roots);
      return file;
    }
  }
  throw new DatasetError(path, `no ${IMAGES_FILE}(.gz) in this folder`);
}

/**
 * The first HEADER_BYTES of the images (fewer if there are fewer), and an uncompressed
 * file's length. A gzipped file is decompressed only until the header is out.
 */
async function readHead(file: string): Promise<{ head: Uint8Array; length?: number }> {
  if (!file.endsWith(".gz")) {
    try {
      const handle = await open(file);
      try {
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
        return { head: buffer.subarray(0, bytesRead), length: (await handle.stat()).size };
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw new DatasetError(file, `cannot read: ${message(error)}`);
    }
  }
  const chunks: Buffer[] = [];
  let read = 0;
  try {
    // Leaving the loop early destroys the streams; the callback hears of it, nothing else needs to.
    for await (const chunk of pipeline(createReadStream(file), createGunzip(), () => {}) as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      read += chunk.length;
      if (read >= HEADER_BYTES) break;
    }
  } catch (error) {
    // zlib's errors have codes like Z_DATA_ERROR; the file system's, like ENOENT.
    const zlib = (error as NodeJS.ErrnoException).code?.startsWith("Z_") === true;
    throw new DatasetError(file, zlib ? `not a valid gzip file: ${message(error)}` : `cannot read: ${message(error)}`);
  }
  return { head: Buffer.concat(chunks).subarray(0, HEADER_BYTES) };
}

async function readImagesFile(file: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new DatasetError(file, `cannot read: ${message(error)}`);
  }
  if (!file.endsWith(".gz")) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (error) {
    throw new DatasetError(file, `not a valid gzip file: ${message(error)}`);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
