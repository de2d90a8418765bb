import type { ImageBatch } from "./samples.js";

/** SSIM's stabilizing constants for values in [0, 1]: (0.01 L)^2 and (0.03 L)^2 with L = 1. */
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

/**
 * How different a batch's images are from each other: 1 - the mean SSIM over all
 * pairs of images, 0 when all are equal, near 1 for unrelated images. The GAN
 * literature's collapse measure is the mean pairwise MS-SSIM (Odena et al., 2017);
 * this is its cheap single-window form: each pair's SSIM is taken over the whole
 * image (all channels) instead of averaged over sliding Gaussian windows at five
 * scales. It keeps SSIM's three comparisons (mean brightness, contrast, and
 * correlation of the structure), which is what separates "the same image again"
 * from "another image", and costs one centered Gram matrix (n^2/2 dot products
 * of the images) instead of n^2/2 windowed SSIM maps, about a hundred times
 * more. As a collapse signal only its course over a run matters, not its
 * agreement with published MS-SSIM values.
 *
 * Equal images give exactly 0: each pair's terms are then computed by the same
 * operations on the same numbers, so every SSIM is exactly 1. Images are taken
 * in G's output range [-1, 1] and compared as [0, 1], SSIM's usual range.
 */
export function diversityScore({ data, count, size, channels }: ImageBatch): number {
  if (count < 2) return 0;
  const length = size * size * channels;
  const means = new Float64Array(count);
  const centered = new Float32Array(count * length);
  for (let i = 0; i < count; i++) {
    const offset = i * length;
    let sum = 0;
    for (let k = 0; k < length; k++) sum += data[offset + k]!;
    const mean = sum / length;
    means[i] = mean;
    for (let k = 0; k < length; k++) centered[offset + k] = data[offset + k]! - mean;
  }
  // The Gram matrix of the centered images: variances on its diagonal, covariances off it.
  const gram = new Float64Array(count * count);
  for (let i = 0; i < count; i++) {
    const a = centered.subarray(i * length, (i + 1) * length);
    for (let j = i; j < count; j++) {
      const b = centered.subarray(j * length, (j + 1) * length);
      gram[i * count + j] = dot(a, b) / length;
    }
  }
  // x in [-1, 1] is (x + 1) / 2 in [0, 1]: means move so, (co)variances scale by 1/4.
  let total = 0;
  for (let i = 0; i < count; i++) {
    const mi = (means[i]! + 1) / 2;
    const vi = gram[i * count + i]! / 4;
    for (let j = i + 1; j < count; j++) {
      const mj = (means[j]! + 1) / 2;
      const vj = gram[j * count + j]! / 4;
      const cov = gram[i * count + j]! / 4;
      total += ((2 * mi * mj + C1) * (2 * cov + C2)) / ((mi * mi + mj * mj + C1) * (vi + vj + C2));
    }
  }
  const pairs = (count * (count - 1)) / 2;
  // SSIM is at most 1; rounding must not make the score negative.
  return Math.max(0, 1 - total / pairs);
}

/** Four running sums: about twice as fast as one in V8. */
function dot(a: Float32Array, b: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = a.length;
  const end = n - (n % 4);
  for (let k = 0; k < end; k += 4) {
    s0 += a[k]! * b[k]!;
    s1 += a[k + 1]! * b[k + 1]!;
    s2 += a[k + 2]! * b[k + 2]!;
    s3 += a[k + 3]! * b[k + 3]!;
  }
  for (let k = end; k < n; k++) s0 += a[k]! * b[k]!;
  return s0 + s1 + (s2 + s3);
}
