import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_FASHION_MNIST_PATH } from "../src/engine/config.js";
import { DatasetError } from "../src/engine/data/dataset.js";
import { openImageFolder } from "../src/engine/data/folder.js";
import { inspectIdxDataset, openIdxDataset } from "../src/engine/data/idx.js";
import { batchesPerEpoch, epochOrder, inspectDataset, openDataset } from "../src/engine/data/index.js";
import { resizeBilinear } from "../src/engine/data/resize.js";
import { createSyntheticDataset } from "../src/engine/data/synthetic.js";

let scratch = "";
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "dcgan-data-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh folder under the test's scratch space. */
async function folder(name: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<DatasetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  return error as DatasetError;
}

function expectInRange(values: Float32Array): void {
  for (const v of values) {
    expect(v).toBeGreaterThanOrEqual(-1);
    expect(v).toBeLessThanOrEqual(1);
  }
}

describe("resizeBilinear", () => {
  it("upsamples like PyTorch's bilinear with align_corners=False", () => {
    const out = resizeBilinear(new Float32Array([0, 1, 2, 3]), 2, 2, 1, 4, 4);
    // torch.nn.functional.interpolate(torch.arange(4.).view(1, 1, 2, 2), size=4, mode="bilinear")
    const expected = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
    expect(Array.from(out)).toEqual(expected);
  });

  it("downsamples by sampling at half-pixel centres", () => {
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(resizeBilinear(src, 4, 4, 1, 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it("keeps channels apart and is the identity at the same size", () => {
    const src = Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 0.1);
    const out = resizeBilinear(src, 3, 2, 2, 3, 2);
    expect(Array.from(out)).toEqual(Array.from(src));
    const wide = resizeBilinear(new Float32Array([0, 10, 1, 11]), 1, 2, 2, 1, 4);
    expect(Array.from(wide)).toEqual([0, 10, 0.25, 10.25, 0.75, 10.75, 1, 11]);
  });
});

describe("synthetic dataset", () => {
  const options = { seed: 999, imageSize: 16, channels: 3 };

  it("renders each image from (seed, index) alone", async () => {
    const a = createSyntheticDataset(options);
    const b = createSyntheticDataset(options);
    const pair = await a.load([5, 3]);
    const single = await b.load([3]);
    expect(pair).toHaveLength(2 * 16 * 16 * 3);
    expect(Array.from(pair.subarray(16 * 16 * 3))).toEqual(Array.from(single));
    expect(Array.from(pair.subarray(0, 16 * 16 * 3))).not.toEqual(Array.from(single));
    const other = await createSyntheticDataset({ ...options, seed: 1000 }).load([3]);
    expect(Array.from(other)).not.toEqual(Array.from(single));
  });

  it("describes itself and has the requested size", () => {
    const dataset = createSyntheticDataset({ ...options, size: 100 });
    expect(dataset.size).toBe(100);
    expect(dataset.description).toBe("synthetic (100 procedural images, seed 999)");
    expect(createSyntheticDataset(options).size).toBe(8192);
  });

  it("stays in [-1, 1], with dark backgrounds and brighter shapes", async () => {
    const images = await createSyntheticDataset({ ...options, imageSize: 32 }).load([0, 1, 2, 3, 4, 5, 6, 7]);
    expectInRange(images);
    const per = 32 * 32 * 3;
    for (let k = 0; k < 8; k++) {
      const image = images.subarray(k * per, (k + 1) * per);
      expect(Math.min(...image)).toBeLessThan(-0.5);
      expect(Math.max(...image)).toBeGreaterThan(0);
    }
  });

  it("supports 1 to 4 channels", async () => {
    for (const channels of [1, 2, 3, 4]) {
      const images = await createSyntheticDataset({ ...options, channels }).load([0, 1]);
      expect(images).toHaveLength(2 * 16 * 16 * channels);
      expectInRange(images);
    }
    expect(() => createSyntheticDataset({ ...options, channels: 5 })).toThrow(RangeError);
  });

  it("rejects indices outside the dataset", async () => {
    await expect(createSyntheticDataset({ ...options, size: 10 }).load([10])).rejects.toThrow(RangeError);
  });
});

/** An IDX3 ubyte file holding these row-major images. */
function idxFile(images: number[][], rows: number, cols: number, magic = 0x803): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(magic, 0);
  header.writeUInt32BE(images.length, 4);
  header.writeUInt32BE(rows, 8);
  header.writeUInt32BE(cols, 12);
  return Buffer.concat([header, Buffer.from(images.flat())]);
}

describe("IDX dataset", () => {
  const images = [
    [255, 255, 255, 255],
    [0, 0, 0, 0],
    [0, 85, 170, 255],
  ];

  it("reads a gzipped file, scales to [-1, 1] and resizes bilinearly", async () => {
    const dir = await folder("idx-gz");
    await writeFile(join(dir, "train-images-idx3-ubyte.gz"), gzipSync(idxFile(images, 2, 2)));
    const dataset = await openIdxDataset({ kind: "mnist", path: dir, imageSize: 4 });
    expect(dataset.size).toBe(3);
    expect(dataset.channels).toBe(1);
    expect(dataset.description).toContain("train-images-idx3-ubyte.gz");
    const out = await dataset.load([0, 1, 2]);
    expect(out).toHaveLength(3 * 16);
    expect(Array.from(out.subarray(0, 16))).toEqual(new Array(16).fill(1));
    expect(Array.from(out.subarray(16, 32))).toEqual(new Array(16).fill(-1));
    // The third image is the 2x2 ramp [[0, 1], [2, 3]] / 3.
    const ramp = resizeBilinear(new Float32Array([0, 1, 2, 3]), 2, 2, 1, 4, 4);
    const third = out.subarray(32);
    expect(third[0]).toBe(-1);
    expect(third[15]).toBe(1);
    ramp.forEach((v, i) => expect(third[i]).toBeCloseTo((v / 3) * 2 - 1, 6));
  });

  it("prefers the uncompressed file and repeats grey into 3 channels", async () => {
    const dir = await folder("idx-raw");
    await writeFile(join(dir, "train-images-idx3-ubyte"), idxFile(images, 2, 2));
    await writeFile(join(dir, "train-images-idx3-ubyte.gz"), "not gzip");
    const dataset = await openIdxDataset({ kind: "fashion-mnist", path: dir, imageSize: 2, channels: 3 });
    expect(dataset.description).toBe(`fashion-mnist (3 images from ${join(dir, "train-images-idx3-ubyte")})`);
    const out = await dataset.load([2]);
    const expected = [0, 85, 170, 255].flatMap((v) => [v, v, v].map((u) => u / 127.5 - 1));
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
    expect(out).toHaveLength(expected.length);
    await expect(dataset.load([3])).rejects.toThrow(RangeError);
  });

  it("rejects channel counts other than 1 and 3", async () => {
    const dir = await folder("idx-channels");
    await writeFile(join(dir, "train-images-idx3-ubyte"), idxFile(images, 2, 2));
    const error = await rejection(openIdxDataset({ kind: "mnist", path: dir, imageSize: 2, channels: 2 }));
    expect(error.message).toContain("greyscale");
  });

  it("names the file when the magic number is wrong", async () => {
    const dir = await folder("idx-magic");
    const file = join(dir, "train-images-idx3-ubyte");
    await writeFile(file, idxFile(images, 2, 2, 0x801));
    const error = await rejection(openIdxDataset({ kind: "mnist", path: dir, imageSize: 4 }));
    expect(error.path).toBe(file);
    expect(error.message).toContain(file);
    expect(error.message).toContain("magic number 2049");
  });

  it("names the file when it is truncated, has no images or is not gzip", async () => {
    const dir = await folder("idx-bad");
    const file = join(dir, "train-images-idx3-ubyte");
    await writeFile(file, idxFile(images, 2, 2).subarray(0, 20));
    expect((await rejection(openIdxDataset({ kind: "mnist", path: dir, imageSize: 4 }))).message).toContain(`${file}: truncated`);
    await writeFile(file, idxFile([], 2, 2));
    expect((await rejection(openIdxDataset({ kind: "mnist", path: dir, imageSize: 4 }))).path).toBe(file);
    await rm(file);
    await writeFile(`${file}.gz`, "definitely not gzip");
    const error = await rejection(openIdxDataset({ kind: "mnist", path: dir, imageSize: 4 }));
    expect(error.message).toContain(`${file}.gz`);
    expect(error.message).toContain("gzip");
  });

  it("names the folder when it or the file is missing", async () => {
    const missing = join(scratch, "no-such-folder");
    const error = await rejection(openIdxDataset({ kind: "mnist", path: missing, imageSize: 4 }));
    expect(error.message).toContain(missing);
    const empty = await folder("idx-empty");
    const noFile = await rejection(openIdxDataset({ kind: "mnist", path: empty, imageSize: 4 }));
    expect(noFile.message).toBe(`${empty}: no train-images-idx3-ubyte(.gz) in this folder`);
  });

  it("inspects a file from its header alone, with the summary opening gives", async () => {
    const dir = await folder("idx-inspect");
    await writeFile(join(dir, "train-images-idx3-ubyte.gz"), gzipSync(idxFile(images, 2, 2)));
    const { load: _, ...opened } = await openIdxDataset({ kind: "mnist", path: dir, imageSize: 4, channels: 3 });
    expect(await inspectIdxDataset({ kind: "mnist", path: dir, imageSize: 4, channels: 3 })).toEqual(opened);
    await writeFile(join(dir, "train-images-idx3-ubyte.gz"), "definitely not gzip");
    expect((await rejection(inspectIdxDataset({ kind: "mnist", path: dir, imageSize: 4 }))).message).toContain("not a valid gzip file");
    const raw = join(dir, "train-images-idx3-ubyte");
    await writeFile(raw, idxFile(images, 2, 2).subarray(0, 20));
    expect((await rejection(inspectIdxDataset({ kind: "mnist", path: dir, imageSize: 4 }))).message).toBe(
      `${raw}: truncated: 3 images of 2x2 need 28 bytes, found 20`,
    );
    await writeFile(raw, idxFile(images, 2, 2, 0x801));
    expect((await rejection(inspectIdxDataset({ kind: "mnist", path: dir, imageSize: 4 }))).message).toContain("magic number 2049");
  });

  it("keeps the folder and the file within the data roots when given them", async () => {
    const root = await folder("idx-roots/root");
    const outside = await folder("idx-roots/elsewhere");
    await writeFile(join(outside, "train-images-idx3-ubyte"), idxFile(images, 2, 2));
    const linked = await folder("idx-roots/root/linked");
    const file = join(linked, "train-images-idx3-ubyte");
    await symlink(join(outside, "train-images-idx3-ubyte"), file);
    for (const open of [openIdxDataset, inspectIdxDataset]) {
      const error = await rejection(open({ kind: "mnist", path: linked, imageSize: 2, dataRoots: [root] }));
      expect(error.message).toBe(`${file}: leads outside the data roots`);
      // A linked folder is refused too; without roots (the CLI), links lead anywhere.
      await symlink(outside, join(root, `folder-link-${open.name}`));
      expect((await rejection(open({ kind: "mnist", path: join(root, `folder-link-${open.name}`), imageSize: 2, dataRoots: [root] }))).message).toContain(
        "leads outside the data roots",
      );
      expect((await open({ kind: "mnist", path: linked, imageSize: 2 })).size).toBe(3);
    }
  });

  it.runIf(existsSync(DEFAULT_FASHION_MNIST_PATH))("reads the real Fashion-MNIST training set", async () => {
    const dataset = await openDataset({ kind: "fashion-mnist", imageSize: 32, seed: 999 });
    expect(dataset.size).toBe(60000);
    expect(dataset.channels).toBe(1);
    const out = await dataset.load([0, 59999]);
    expect(out).toHaveLength(2 * 32 * 32);
    expectInRange(out);
    // Fashion-MNIST items sit on a black background with bright garments.
    expect(out[0]).toBe(-1);
    expect(Math.max(...out)).toBeGreaterThan(0.5);
  });
});

/** A PNG of the given size whose pixel (x, y) is colour(x, y). */
function png(width: number, height: number, channels: 1 | 3, colour: (x: number, y: number) => number[]): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(colour(x, y), (y * width + x) * channels);
  }
  return sharp(raw, { raw: { width, height, channels } }).png().toBuffer();
}

describe("image folder dataset", () => {
  let root = "";
  beforeAll(async () => {
    root = await folder("images");
    await mkdir(join(root, "b", "sub"), { recursive: true });
    await mkdir(join(root, "a"));
    // Wide: white | black | white thirds, so only a centre crop is all black.
    await writeFile(join(root, "a", "bands.png"), await png(60, 20, 3, (x) => (x >= 20 && x < 40 ? [0, 0, 0] : [255, 255, 255])));
    // Wide: black left half, white right half.
    await writeFile(join(root, "a", "halves.PNG"), await png(80, 20, 3, (x) => (x < 40 ? [0, 0, 0] : [255, 255, 255])));
    await writeFile(join(root, "b", "sub", "red.JPG"), await sharp({ create: { width: 16, height: 16, channels: 3, background: "#ff0000" } }).jpeg().toBuffer());
    await writeFile(join(root, "tall.jpeg"), await sharp({ create: { width: 30, height: 50, channels: 3, background: "#808080" } }).jpeg({ quality: 95 }).toBuffer());
    await writeFile(join(root, "grey.png"), await png(12, 12, 1, () => [51]));
    await writeFile(join(root, "notes.txt"), "not an image, and not named like one");
  });

  it("finds images recursively in sorted order and loads them at the requested size", async () => {
    const dataset = await openImageFolder({ path: root, imageSize: 8 });
    expect(dataset.size).toBe(5);
    expect(dataset.channels).toBe(3);
    expect(dataset.description).toBe(`folder (5 images from ${root})`);
    const out = await dataset.load([0, 1, 2, 3, 4]);
    expect(out).toHaveLength(5 * 8 * 8 * 3);
    expectInRange(out);
    const per = 8 * 8 * 3;
    // Sorted: a/bands.png, a/halves.PNG, b/sub/red.JPG, grey.png, tall.jpeg.
    const red = out.subarray(2 * per, 3 * per);
    expect(red[0]).toBeGreaterThan(0.9);
    expect(red[1]).toBeLessThan(-0.9);
    expect(Math.max(...out.subarray(3 * per, 4 * per).map((v) => Math.abs(v - (51 / 127.5 - 1))))).toBeLessThan(0.02);
    const tall = out.subarray(4 * per);
    expect(Math.max(...tall.map((v) => Math.abs(v - (128 / 127.5 - 1))))).toBeLessThan(0.03);
  });

  it("centre-crops wide images to a square", async () => {
    const dataset = await openImageFolder({ path: root, imageSize: 8, channels: 1 });
    const [bands, halves] = [await dataset.load([0]), await dataset.load([1])];
    expect(bands).toHaveLength(64);
    // Squashing would keep white at the edges; the crop keeps only the black middle third.
    for (let y = 0; y < 8; y++) {
      for (let x = 1; x < 7; x++) expect(bands[y * 8 + x]).toBeLessThan(-0.9);
    }
    // The crop's centre is the black/white boundary: dark on the left, bright on the right.
    for (let y = 0; y < 8; y++) {
      const row = Array.from(halves.subarray(y * 8, y * 8 + 8));
      expect(row[0]).toBe(-1);
      expect(row[7]).toBe(1);
      expect(row[2]).toBeLessThan(-0.9);
      expect(row[5]).toBeGreaterThan(0.9);
      expect(row).toEqual([...row].sort((a, b) => a - b));
    }
  });

  it("gives 1, 3 or 4 channels and refuses 2", async () => {
    for (const channels of [1, 3, 4]) {
      const dataset = await openImageFolder({ path: root, imageSize: 4, channels });
      expect(await dataset.load([3, 2])).toHaveLength(2 * 4 * 4 * channels);
    }
    await rejection(openImageFolder({ path: root, imageSize: 4, channels: 2 }));
  });

  it("follows symbolic links to folders", async () => {
    const dir = await folder("linked");
    await symlink(join(root, "b"), join(dir, "b"));
    await symlink(dir, join(dir, "loop"));
    const dataset = await openImageFolder({ path: dir, imageSize: 4 });
    expect(dataset.size).toBe(1);
  });

  it("keeps every folder and image it follows within the data roots when given them", async () => {
    const roots = await folder("folder-roots");
    const root = await folder("folder-roots/root");
    const outside = await folder("folder-roots/elsewhere");
    await writeFile(join(outside, "secret.png"), await png(4, 4, 3, () => [9, 9, 9]));
    await mkdir(join(root, "own"));
    await writeFile(join(root, "own", "mine.png"), await png(4, 4, 3, () => [1, 2, 3]));
    const byFolder = await folder("folder-roots/root/by-folder");
    await symlink(join(root, "own"), join(byFolder, "inside"));
    await symlink(outside, join(byFolder, "sub"));
    const byFile = await folder("folder-roots/root/by-file");
    await writeFile(join(byFile, "a.png"), await png(4, 4, 3, () => [1, 2, 3]));
    await symlink(join(outside, "secret.png"), join(byFile, "b.png"));

    const folderError = await rejection(openImageFolder({ path: byFolder, imageSize: 4, dataRoots: [root] }));
    expect(folderError.message).toBe(`${join(byFolder, "sub")}: leads outside the data roots`);
    const fileError = await rejection(openDataset({ kind: "folder", path: byFile, imageSize: 4, seed: 1, dataRoots: [root] }));
    expect(fileError.message).toBe(`${join(byFile, "b.png")}: leads outside the data roots`);
    // A root given through a link confines to where it points; links within the roots are followed.
    await symlink(root, join(roots, "root-link"));
    await rm(join(byFolder, "sub"));
    const within = await inspectDataset({ kind: "folder", path: join(roots, "root-link", "by-folder"), imageSize: 4, seed: 1, dataRoots: [join(roots, "root-link")] });
    expect(within.size).toBe(1);
    // Without roots (the CLI), links lead anywhere.
    expect((await openImageFolder({ path: byFile, imageSize: 4 })).size).toBe(2);
  });

  it("names a file that is not an image", async () => {
    const dir = await folder("corrupt");
    await writeFile(join(dir, "good.png"), await png(4, 4, 3, () => [1, 2, 3]));
    const bad = join(dir, "bad.png");
    await writeFile(bad, "not an image");
    const error = await rejection(openImageFolder({ path: dir, imageSize: 4 }));
    expect(error.path).toBe(bad);
    expect(error.message).toContain(`${bad}: not a readable JPEG/PNG image`);
  });

  it("names a file that breaks after opening", async () => {
    const dir = await folder("breaks");
    const file = join(dir, "image.png");
    await writeFile(file, await png(4, 4, 3, () => [1, 2, 3]));
    const dataset = await openImageFolder({ path: dir, imageSize: 4 });
    await writeFile(file, "gone bad");
    const error = await rejection(dataset.load([0]));
    expect(error.path).toBe(file);
  });

  it("names an empty or missing folder", async () => {
    const empty = await folder("no-images");
    await writeFile(join(empty, "readme.txt"), "hello");
    expect((await rejection(openImageFolder({ path: empty, imageSize: 4 }))).path).toBe(empty);
    const missing = join(scratch, "missing-images");
    expect((await rejection(openImageFolder({ path: missing, imageSize: 4 }))).message).toContain(missing);
  });
});

describe("openDataset", () => {
  it("defaults channels per kind", async () => {
    const synthetic = await openDataset({ kind: "synthetic", imageSize: 16, seed: 1 });
    expect(synthetic.channels).toBe(3);
    expect(synthetic.description).toContain("seed 1");
    const dir = await folder("dispatch-idx");
    await writeFile(join(dir, "train-images-idx3-ubyte"), idxFile([[1, 2, 3, 4]], 2, 2));
    const mnist = await openDataset({ kind: "mnist", path: dir, imageSize: 16, seed: 1 });
    expect(mnist.channels).toBe(1);
  });

  it.runIf(existsSync(DEFAULT_FASHION_MNIST_PATH))("reads the default Fashion-MNIST path whatever the data roots", async () => {
    const options = { kind: "fashion-mnist" as const, imageSize: 32, seed: 1, dataRoots: [scratch] };
    expect((await inspectDataset(options)).size).toBe(60000);
  });

  it("needs a path for mnist and folders", async () => {
    expect((await rejection(openDataset({ kind: "mnist", imageSize: 16, seed: 1 }))).message).toContain("mnist needs a data path");
    await rejection(openDataset({ kind: "folder", imageSize: 16, seed: 1 }));
  });
});

describe("epochs", () => {
  it("shuffles each epoch into a seeded permutation", () => {
    const order = epochOrder(999, 0, 1000);
    expect(Array.from(order).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(epochOrder(999, 0, 1000))).toEqual(Array.from(order));
    expect(Array.from(epochOrder(999, 1, 1000))).not.toEqual(Array.from(order));
    expect(Array.from(epochOrder(998, 0, 1000))).not.toEqual(Array.from(order));
  });

  it("counts full batches only", () => {
    expect(batchesPerEpoch(60000, 128)).toBe(468);
    expect(batchesPerEpoch(256, 128)).toBe(2);
    expect(() => batchesPerEpoch(100, 128)).toThrow(DatasetError);
    const dataset = createSyntheticDataset({ seed: 3, imageSize: 16, channels: 1, size: 10 });
    expect(() => batchesPerEpoch(dataset, 64)).toThrow(`${dataset.description}: has 10 images, fewer than one batch of 64`);
  });
});
