import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Adam } from "../src/engine/adam.js";
import { ConfigError, isValidImageSize, parseTrainConfig } from "../src/engine/config.js";
import { asImage, Gan } from "../src/engine/gan.js";
import { bce } from "../src/engine/loss.js";
import {
  type BatchMoments,
  discriminatorLayers,
  forward,
  generatorLayers,
  initialValues,
  Network,
  parameterShapes,
  updateRunningStats,
} from "../src/engine/models.js";
import { Rng } from "../src/engine/rng.js";
import { onBackend, TINY_SHAPE } from "./helpers.js";

beforeAll(() => onBackend("cpu"));

const shape = (imageSize: number) => ({ imageSize, channels: 3, nz: 100, ngf: 64, ndf: 64 });

describe("architecture", () => {
  it("matches the tutorial's 64x64 networks layer for layer (PyTorch names, tfjs layouts)", () => {
    const g = parameterShapes(generatorLayers(shape(64)));
    expect(Object.fromEntries(g)).toEqual({
      "main.0.weight": [4, 4, 512, 100], // ConvTranspose2d(nz, ngf*8, 4, 1, 0)
      "main.1.weight": [512],
      "main.1.bias": [512],
      "main.3.weight": [4, 4, 256, 512],
      "main.4.weight": [256],
      "main.4.bias": [256],
      "main.6.weight": [4, 4, 128, 256],
      "main.7.weight": [128],
      "main.7.bias": [128],
      "main.9.weight": [4, 4, 64, 128],
      "main.10.weight": [64],
      "main.10.bias": [64],
      "main.12.weight": [4, 4, 3, 64], // ConvTranspose2d(ngf, nc, 4, 2, 1) + Tanh
    });
    const d = parameterShapes(discriminatorLayers(shape(64)));
    expect(Object.fromEntries(d)).toEqual({
      "main.0.weight": [4, 4, 3, 64], // Conv2d(nc, ndf, 4, 2, 1), no BatchNorm
      "main.2.weight": [4, 4, 64, 128],
      "main.3.weight": [128],
      "main.3.bias": [128],
      "main.5.weight": [4, 4, 128, 256],
      "main.6.weight": [256],
      "main.6.bias": [256],
      "main.8.weight": [4, 4, 256, 512],
      "main.9.weight": [512],
      "main.9.bias": [512],
      "main.11.weight": [4, 4, 512, 1], // Conv2d(ndf*8, 1, 4, 1, 0) + Sigmoid
    });
    expect(discriminatorLayers(shape(64)).map((l) => l.kind)).toEqual([
      "conv", "leakyRelu",
      "conv", "batchNorm", "leakyRelu",
      "conv", "batchNorm", "leakyRelu",
      "conv", "batchNorm", "leakyRelu",
      "conv", "sigmoid",
    ]);
  });

  it.each([16, 32, 64, 128])("maps noise to %i-pixel images and images to one probability", (size) => {
    const small = { imageSize: size, channels: 2, nz: 5, ngf: 2, ndf: 2 };
    const rng = Rng.stream(1, "init");
    const G = new Network(generatorLayers(small), initialValues(generatorLayers(small), rng));
    const D = new Network(discriminatorLayers(small), initialValues(discriminatorLayers(small), rng));
    const images = forward(G, asImage(tf.randomNormal([3, 5])), { stats: "batch" });
    expect(images.shape).toEqual([3, size, size, 2]);
    const p = forward(D, images, { stats: "batch" });
    expect(p.shape).toEqual([3, 1, 1, 1]);
    const values = p.dataSync();
    for (const v of values) expect(v > 0 && v < 1).toBe(true);
    expect(Math.max(...images.dataSync().map(Math.abs))).toBeLessThanOrEqual(1);
    tf.dispose([images, p]);
    G.dispose();
    D.dispose();
  });

  it("accepts image sizes 4 * 2^k >= 16 only", () => {
    expect([16, 32, 64, 128, 256].every(isValidImageSize)).toBe(true);
    expect([0, 4, 8, 24, 48, 100, 64.5].some(isValidImageSize)).toBe(false);
    expect(() => parseTrainConfig({ imageSize: 48 })).toThrow(ConfigError);
    expect(() => parseTrainConfig({ imageSize: 48 })).toThrow(/imageSize/);
  });

  it("has the tutorial's defaults", () => {
    expect(parseTrainConfig({})).toMatchObject({
      dataset: "synthetic", imageSize: 64, nz: 100, ngf: 64, ndf: 64,
      batchSize: 128, lr: 0.0002, beta1: 0.5, seed: 999, epochs: 5, backend: "auto",
    });
  });
});

describe("initialisation", () => {
  it("draws conv weights from N(0, 0.02), BatchNorm scale from N(1, 0.02), shift 0", () => {
    const values = initialValues(generatorLayers(shape(64)), Rng.stream(999, "init"));
    const stats = (a: Float32Array) => {
      const mean = a.reduce((s, v) => s + v, 0) / a.length;
      return { mean, std: Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length) };
    };
    const conv = stats(values.get("main.3.weight")!);
    expect(conv.mean).toBeCloseTo(0, 3);
    expect(conv.std).toBeCloseTo(0.02, 3);
    const scale = stats(values.get("main.1.weight")!);
    expect(scale.mean).toBeCloseTo(1, 2);
    expect(scale.std).toBeGreaterThan(0.015);
    expect(scale.std).toBeLessThan(0.025);
    expect(values.get("main.1.bias")!.every((v) => v === 0)).toBe(true);
    expect(values.get("main.1.running_var")!.every((v) => v === 1)).toBe(true);
  });
});

describe("BatchNorm, loss and optimizer semantics", () => {
  it("updates running statistics with momentum 0.1 and the unbiased variance", () => {
    const layers = generatorLayers({ imageSize: 16, channels: 1, nz: 2, ngf: 1, ndf: 1 });
    const G = new Network(layers, initialValues(layers, Rng.stream(0, "init")));
    const x = tf.tensor4d([1, 2, 3, 6], [2, 1, 2, 1]);
    const moments: BatchMoments[] = [{ layer: "main.4", ...tf.moments(x, [0, 1, 2]), count: 4 } as BatchMoments];
    updateRunningStats(G, moments);
    // mean 3, biased variance 3.5, unbiased 14/3
    expect(G.buffers.get("main.4.running_mean")!.dataSync()[0]).toBeCloseTo(0.3, 6);
    expect(G.buffers.get("main.4.running_var")!.dataSync()[0]).toBeCloseTo(0.9 + 0.1 * (14 / 3), 6);
    G.dispose();
  });

  it("computes BCE and its gradient as PyTorch does, finite where D saturates", () => {
    const p = tf.tensor1d([0.25, 1, 0.5]);
    const { value, grads } = tf.valueAndGrads((q: tf.Tensor) => bce(q as tf.Tensor1D, 0))([p]);
    // -(log 0.75 + clamp(log 0, -100) + log 0.5) / 3
    expect(value.dataSync()[0]).toBeCloseTo(-(Math.log(0.75) - 100 + Math.log(0.5)) / 3, 4);
    // (p - y) / max((1 - p) p, 1e-12) / N
    const g = grads[0]!.dataSync();
    expect(g[0]).toBeCloseTo(0.25 / (0.75 * 0.25) / 3, 5);
    expect(Number.isFinite(g[1])).toBe(true);
    expect(g[1]).toBeCloseTo(1 / 1e-12 / 3, -6);
  });

  it("steps like torch.optim.Adam (epsilon outside the bias-corrected root)", () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const adam = new Adam(new Map([["p", p]]), { lr: 0.1, beta1: 0.5, beta2: 0.999, eps: 1e-8 });
    const g = [0.3, -0.001];
    let m = [0, 0];
    let v = [0, 0];
    const expected = [1, -2];
    for (let t = 1; t <= 3; t++) {
      adam.apply({ [p.name]: tf.tensor1d(g) });
      m = m.map((mi, i) => 0.5 * mi + 0.5 * g[i]!);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i]! ** 2);
      for (let i = 0; i < 2; i++) {
        const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
        expected[i]! -= (0.1 / (1 - 0.5 ** t)) * (m[i]! / denom);
      }
    }
    const got = p.dataSync();
    expect(got[0]).toBeCloseTo(expected[0]!, 5);
    expect(got[1]).toBeCloseTo(expected[1]!, 5);
    adam.dispose();
    p.dispose();
  });
});

describe("one iteration", () => {

  it("reports Loss_D = errD_real + errD_fake and probabilities in (0, 1)", async () => {
    const gan = Gan.create(TINY_SHAPE, { lr: 0.0002, beta1: 0.5 }, 3);
    const m = await gan.step(tf.randomUniform([4, 16, 16, 1], -1, 1), tf.randomNormal([4, 8]));
    expect(m.lossD).toBeCloseTo(m.errDReal + m.errDFake, 6);
    for (const p of [m.dX, m.dGz1, m.dGz2]) expect(p > 0 && p < 1).toBe(true);
    gan.dispose();
  });

  it("runs G forward once and D forward three times, as PyTorch does", async () => {
    // ndf differs from ngf so that D's first filter [4, 4, 1, ndf] has a shape of its own.
    const gan = Gan.create({ ...TINY_SHAPE, ndf: 6 }, { lr: 0.0002, beta1: 0.5 }, 3);
    const real = tf.randomUniform([4, 16, 16, 1], -1, 1) as tf.Tensor4D;
    const noise = tf.randomNormal([4, 8]) as tf.Tensor2D;
    const profile = await tf.profile(async () => {
      await gan.step(real, noise);
      return [];
    });
    const shapes = (name: string) => profile.kernels.filter((k) => k.name === name).map((k) => JSON.stringify(k.inputShapes));
    // G's first layer (a transposed convolution of the 1x1 noise) runs once...
    expect(shapes("Conv2DBackpropInput").filter((s) => s.includes("[4,1,1,8]"))).toHaveLength(1);
    // ...and D's first convolution of a 16x16 batch three times: real, detached fake, fake for G.
    expect(shapes("Conv2D").filter((s) => s === "[[4,16,16,1],[4,4,1,6]]")).toHaveLength(3);
    // BatchNorm statistics: G's updated once (from 0 mean), D's three times.
    const gMean = await gan.G.buffers.get("main.1.running_mean")!.data();
    const dVar = await gan.D.buffers.get("main.3.running_var")!.data();
    expect(Math.abs(gMean[0]!)).toBeGreaterThan(0);
    expect(dVar[0]).not.toBe(1);
    gan.dispose();
  });

  it("leaks no tensors: the count after iteration 2 equals the count after iteration 50", async () => {
    const gan = Gan.create(TINY_SHAPE, { lr: 0.0002, beta1: 0.5 }, 3);
    const counts: number[] = [];
    for (let i = 1; i <= 50; i++) {
      const real = tf.randomUniform([4, 16, 16, 1], -1, 1) as tf.Tensor4D;
      const noise = tf.randomNormal([4, 8]) as tf.Tensor2D;
      await gan.step(real, noise);
      tf.dispose([real, noise]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[49]).toBe(counts[1]);
    gan.dispose();
  });

  it("renders grids without touching the running statistics unless asked for inference mode", async () => {
    const gan = Gan.create(TINY_SHAPE, { lr: 0.0002, beta1: 0.5 }, 3);
    await gan.step(tf.randomUniform([4, 16, 16, 1], -1, 1), tf.randomNormal([4, 8]));
    const before = await gan.G.values();
    const noise = tf.randomNormal([6, 8]) as tf.Tensor2D;
    const batchMode = await gan.generate(noise);
    const inference = await gan.generate(noise, true);
    expect(await gan.G.values()).toEqual(before);
    expect(batchMode).toHaveLength(6 * 16 * 16);
    expect(inference).not.toEqual(batchMode);
    gan.dispose();
  });
});
