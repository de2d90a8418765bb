/**
 * Bilinear resize of one HWC image, matching PyTorch's
 * `F.interpolate(mode="bilinear", align_corners=False)` without antialiasing, so that
 * images fed to the port equal the ones the reference pipeline would produce.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  srcH: number,
  srcW: number,
  channels: number,
  dstH: number,
  dstW: number,
): Float32Array {
  if (src.length !== srcH * srcW * channels) {
    throw new RangeError(`resizeBilinear: source has ${src.length} values, expected ${srcH}x${srcW}x${channels}`);
  }
  // The length check above keeps every index in range; `?? 0` only satisfies the types.
  const at = (row: number, col: number, c: number) => src[(row * srcW + col) * channels + c] ?? 0;
  const xs = axisTaps(srcW, dstW);
  const out = new Float32Array(dstH * dstW * channels);
  let o = 0;
  for (const y of axisTaps(srcH, dstH)) {
    for (const x of xs) {
      for (let c = 0; c < channels; c++) {
        const top = (1 - x.weight) * at(y.lo, x.lo, c) + x.weight * at(y.lo, x.hi, c);
        const bottom = (1 - x.weight) * at(y.hi, x.lo, c) + x.weight * at(y.hi, x.hi, c);
        out[o++] = (1 - y.weight) * top + y.weight * bottom;
      }
    }
  }
  return out;
}

interface Tap {
  lo: number;
  hi: number;
  /** Weight of `hi`; `lo` gets 1 - weight. */
  weight: number;
}

/**
 * For each output position along one axis, its two source pixels. Half-pixel centres;
 * a negative source coordinate is clamped to 0 and `hi` to the last pixel, as in
 * PyTorch's upsample_bilinear2d.
 */
function axisTaps(srcLen: number, dstLen: number): Tap[] {
  const scale = srcLen / dstLen;
  return Array.from({ length: dstLen }, (_, d) => {
    const s = Math.max((d + 0.5) * scale - 0.5, 0);
    const lo = Math.floor(s);
    return { lo, hi: Math.min(lo + 1, srcLen - 1), weight: s - lo };
  });
}
