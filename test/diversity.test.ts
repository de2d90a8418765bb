import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseTrainConfig } from "../src/engine/config.js";
import { diversityScore } from "../src/engine/diversity.js";
import { Gan } from "../src/engine/gan.js";
import { Rng } from "../src/engine/rng.js";
import { FIXED_NOISE_COUNT, type ImageBatch } from "../src/engine/samples.js";
import { train } from "../src/engine/trainer.js";
import type { SampleWritten } from "../src/engine/run-output.js";
import { onBackend, tempDir, TINY, TINY_SHAPE } from "./helpers.js";

beforeAll(async () => {
  await onBackend("cpu");
});

const SHAPE = { ...TINY_SHAPE, imageSize: 32 };

/** G's 64 images of `noise` (64 x nz values), as the trainer renders them (batch statistics). */
async function generated(gan: Gan, noise: Float32Array): Promise<ImageBatch> {
  const z = tf.tensor2d(noise, [FIXED_NOISE_COUNT, SHAPE.nz]);
  const data = await gan.generate(z);
  z.dispose();
  return { data, count: FIXED_NOISE_COUNT, size: SHAPE.imageSize, channels: SHAPE.channels };
}

describe("diversityScore", () => {
  it("is exactly 0 for a collapsed generator (every sample the same image) and clearly above for varied ones", async () => {
    const gan = Gan.create(SHAPE, { lr: 0.0002, beta1: 0.5 }, 7);
    const noise = Rng.stream(7, "fixed-noise").normal(FIXED_NOISE_COUNT * SHAPE.nz);
    // Collapse: whatever z, G draws one image (the first noise vector's).
    const collapsed = await generated(gan, noise.map((_, i) => noise[i % SHAPE.nz]!));
    expect(collapsed.data.subarray(0, 32 * 32)).toEqual(collapsed.data.subarray(32 * 32, 2 * 32 * 32));
    expect(diversityScore(collapsed)).toBe(0);
    const varied = diversityScore(await generated(gan, noise));
    gan.dispose();
    expect(varied).toBeGreaterThan(0.01);

    // Two images among 64 (a partial collapse) lie between none and unrelated images.
    const size = 8;
    const length = size * size;
    const rng = Rng.stream(1, "test");
    const unrelated = rng.normal(64 * length).map((v) => Math.tanh(v));
    const two = unrelated.map((_, i) => unrelated[(Math.floor(i / length) % 2) * length + (i % length)]!);
    const score = (data: Float32Array) => diversityScore({ data, count: 64, size, channels: 1 });
    expect(score(unrelated)).toBeGreaterThan(0.9);
    expect(score(two)).toBeGreaterThan(0.2);
    expect(score(two)).toBeLessThan(score(unrelated) * 0.6);
    // A constant grid (flat grey, every image) too.
    expect(score(new Float32Array(64 * length).fill(0.3))).toBe(0);
  });

  it("costs a millisecond or so per image (32x32 grey and 64x64 RGB, 64 images)", () => {
    const rng = Rng.stream(2, "cost");
    for (const [size, channels] of [[32, 1], [64, 3]] as const) {
      const data = rng.normal(64 * size * size * channels).map((v) => Math.tanh(v));
      diversityScore({ data, count: 64, size, channels }); // warm-up
      const rounds = 5;
      const start = performance.now();
      for (let i = 0; i < rounds; i++) diversityScore({ data, count: 64, size, channels });
      const perImage = (performance.now() - start) / rounds / 64;
      console.log(`diversityScore ${size}x${size}x${channels}, 64 images: ${perImage.toFixed(3)} ms per image`);
      expect(perImage).toBeLessThan(5);
    }
  });
});

describe("training", () => {
  it("reports a positive diversity with every fixed-noise sample, none with the real grid", async () => {
    const samples: SampleWritten[] = [];
    await train(parseTrainConfig({ ...TINY, backend: "cpu", iterations: 6, sampleEvery: 2 }), {
      outDir: join(await tempDir(), "diversity"),
      onSample: (s) => {
        samples.push(s);
      },
    });
    expect(samples.map((s) => [s.kind, s.iteration])).toEqual([["real", 0], ["fixed-noise", 2], ["fixed-noise", 4], ["fixed-noise", 6]]);
    expect(samples[0]!.diversity).toBeUndefined();
    for (const s of samples.slice(1)) {
      expect(s.diversity).toBeGreaterThan(0.01);
      expect(s.diversity).toBeLessThanOrEqual(1.5);
    }
  });
});
