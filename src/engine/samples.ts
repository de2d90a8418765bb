import sharp from "sharp";
import { writeFileAtomic } from "./files.js";

/** How many fixed-noise vectors a run renders into its sample grids (the tutorial's 64). */
export const FIXED_NOISE_COUNT = 64;

export interface ImageBatch {
  /** NHWC, values in G's output range [-1, 1]. */
  data: Float32Array;
  count: number;
  size: number;
  channels: number;
}

export interface Grid {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

/**
 * torchvision.utils.make_grid(images, nrow=8, padding=2, normalize=True), as the
 * tutorial renders its grids: min-max scaled over the whole batch, laid out 8 per
 * row with 2 black pixels around and between the images.
 */
export function makeGrid({ data, count, size, channels }: ImageBatch, nrow = 8, padding = 2): Grid {
  const cols = Math.min(nrow, count);
  const rows = Math.ceil(count / cols);
  const width = cols * (size + padding) + padding;
  const height = rows * (size + padding) + padding;
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = 255 / Math.max(max - min, 1e-5);
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < count; i++) {
    const top = padding + Math.floor(i / cols) * (size + padding);
    const left = padding + (i % cols) * (size + padding);
    for (let y = 0; y < size; y++) {
      const src = ((i * size + y) * size) * channels;
      const dst = ((top + y) * width + left) * channels;
      for (let x = 0; x < size * channels; x++) pixels[dst + x] = Math.round((data[src + x]! - min) * scale);
    }
  }
  return { width, height, channels, pixels };
}

export async function encodePng(grid: Grid): Promise<Buffer> {
  const image = sharp(grid.pixels, { raw: { width: grid.width, height: grid.height, channels: grid.channels as 1 | 2 | 3 | 4 } });
  // sharp would otherwise widen grey to sRGB.
  return (grid.channels <= 2 ? image.toColourspace("b-w") : image).png().toBuffer();
}

/** Renders a batch as a grid PNG, written atomically; resolves to its size in bytes. */
export async function writeGridPng(path: string, images: ImageBatch): Promise<number> {
  const png = await encodePng(makeGrid(images));
  await writeFileAtomic(path, png);
  return png.length;
}
