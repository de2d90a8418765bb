import { Rng } from "../rng.js";
import type { Dataset } from "./dataset.js";

export interface SyntheticOptions {
  seed: number;
  imageSize: number;
  channels: number;
  size?: number;
}

type ShapeKind = "disc" | "square" | "ring";

/** A scene in units of the image side, so the same index draws the same picture at any size. */
interface Shape {
  kind: ShapeKind;
  cx: number;
  cy: number;
  radius: number;
  rgb: [number, number, number];
}

interface Scene {
  base: number;
  gradient: number;
  vertical: boolean;
  shapes: Shape[];
}

/**
 * Procedural images needing no files, so that training, tests and benchmarks run on any
 * machine: a dark gradient background under one or two soft-edged discs, squares or
 * rings. Image i depends only on (seed, i), so any subset can be rendered in any order.
 */
export function createSyntheticDataset({ seed, imageSize, channels, size = 8192 }: SyntheticOptions): Dataset {
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) {
    throw new RangeError(`synthetic images have 1 to 4 channels, not ${channels}`);
  }
  const pixels = imageSize * imageSize * channels;
  return {
    description: `synthetic (${size} procedural images, seed ${seed})`,
    size,
    imageSize,
    channels,
    async load(indices) {
      const out = new Float32Array(indices.length * pixels);
      Array.from(indices).forEach((index, k) => {
        if (!Number.isInteger(index) || index < 0 || index >= size) {
          throw new RangeError(`image index ${index} is outside 0..${size - 1}`);
        }
        render(drawScene(seed, index), imageSize, channels, out.subarray(k * pixels, (k + 1) * pixels));
      });
      return out;
    },
  };
}

/** All random draws happen here, independent of size and channels. */
function drawScene(seed: number, index: number): Scene {
  const rng = Rng.stream(seed, "synthetic", index);
  const base = 0.05 + 0.15 * rng.uniform();
  const gradient = 0.2 * rng.uniform();
  const vertical = rng.uniform() < 0.5;
  const count = rng.uniform() < 0.5 ? 1 : 2;
  const shapes: Shape[] = [];
  for (let s = 0; s < count; s++) {
    shapes.push({
      kind: shapeKind(rng.uniform()),
      cx: 0.25 + 0.5 * rng.uniform(),
      cy: 0.25 + 0.5 * rng.uniform(),
      radius: 0.1 + 0.15 * rng.uniform(),
      rgb: hsvToRgb(rng.uniform(), 0.5 + 0.5 * rng.uniform(), 0.7 + 0.3 * rng.uniform()),
    });
  }
  return { base, gradient, vertical, shapes };
}

/**
 * Writes one HWC image in [-1, 1]. One channel is the luma; two and four add the
 * shapes' coverage as an alpha channel, like grey+alpha and RGBA files.
 */
function render(scene: Scene, n: number, channels: number, out: Float32Array): void {
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const t = (scene.vertical ? y + 0.5 : x + 0.5) / n;
      let r = scene.base + scene.gradient * t;
      let g = r;
      let b = r;
      let alpha = 0;
      for (const shape of scene.shapes) {
        const a = coverage(shape, (x + 0.5) / n, (y + 0.5) / n, n);
        const [sr, sg, sb] = shape.rgb;
        r += (sr - r) * a;
        g += (sg - g) * a;
        b += (sb - b) * a;
        alpha += (1 - alpha) * a;
      }
      const o = (y * n + x) * channels;
      if (channels < 3) {
        out[o] = (0.299 * r + 0.587 * g + 0.114 * b) * 2 - 1;
      } else {
        out[o] = r * 2 - 1;
        out[o + 1] = g * 2 - 1;
        out[o + 2] = b * 2 - 1;
      }
      if (channels === 2 || channels === 4) out[o + channels - 1] = alpha * 2 - 1;
    }
  }
}

/** Fraction of the pixel at (u, v) inside the shape: a one-pixel ramp across the edge. */
function coverage(shape: Shape, u: number, v: number, n: number): number {
  const dx = u - shape.cx;
  const dy = v - shape.cy;
  let distance: number; // signed, negative inside, in image-side units
  switch (shape.kind) {
    case "disc":
      distance = Math.hypot(dx, dy) - shape.radius;
      break;
    case "square":
      distance = Math.max(Math.abs(dx), Math.abs(dy)) - shape.radius * 0.85; // about the disc's area
      break;
    case "ring":
      distance = Math.abs(Math.hypot(dx, dy) - shape.radius) - shape.radius * 0.2;
      break;
  }
  return Math.min(Math.max(0.5 - distance * n, 0), 1);
}

function shapeKind(u: number): ShapeKind {
  return u < 1 / 3 ? "disc" : u < 2 / 3 ? "square" : "ring";
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (k: number) => {
    const p = (k + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(p, 4 - p, 1));
  };
  return [f(5), f(3), f(1)];
}
