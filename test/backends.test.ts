import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { BACKEND_ORDER, backendReport, BackendUnavailableError, useBackend } from "../src/engine/backends/index.js";
import { onBackend, REQUIRE_WEBGPU } from "./helpers.js";

describe("backend report", () => {
  it("lists every backend in auto's order with availability and a reason", async () => {
    const report = await backendReport();
    expect(report.map((r) => r.name)).toEqual([...BACKEND_ORDER]);
    for (const r of report) expect(r.detail.length).toBeGreaterThan(0);
    expect(report.find((r) => r.name === "cpu")!.available).toBe(true);
    expect(report.find((r) => r.name === "wasm")!.available).toBe(true);
  });

  it("explains why tfjs-node is unavailable where its libtensorflow download failed", async () => {
    const tensorflow = (await backendReport()).find((r) => r.name === "tensorflow")!;
    // Neither optional package installs here; a machine where one does reports its name.
    if (!tensorflow.available) expect(tensorflow.detail).toMatch(/tfjs-node-gpu (not installed|.*not found|failed to load)/);
    else expect(tensorflow.detail).toMatch(/@tensorflow\/tfjs-node/);
  });

  it.runIf(REQUIRE_WEBGPU)("finds the WebGPU adapter CI provides (Mesa lavapipe)", async () => {
    const webgpu = (await backendReport()).find((r) => r.name === "webgpu")!;
    expect(webgpu).toMatchObject({ available: true });
  });

  it("auto picks the first available backend and skips software GPU adapters", async () => {
    const report = await backendReport();
    const { chosen, skipped } = await useBackend("auto");
    const expected = report.find((r) => r.available && !(r.name === "webgpu" && /software adapter/.test(r.detail)));
    expect(chosen.name).toBe(expected!.name);
    expect(tf.getBackend()).toBe(chosen.name);
    expect(skipped.map((r) => r.name)).toEqual(BACKEND_ORDER.slice(0, BACKEND_ORDER.indexOf(chosen.name)));
  });

  it("rejects an unavailable backend with every reason", async () => {
    const report = await backendReport();
    const missing = report.find((r) => !r.available);
    if (!missing) return expect(report.every((r) => r.available)).toBe(true);
    await expect(useBackend(missing.name)).rejects.toThrow(BackendUnavailableError);
    await expect(useBackend(missing.name)).rejects.toThrow(missing.detail);
  });
});

describe("wasm convolution gradients", () => {
  // [input size, kernel, stride, padding, in channels, out channels]
  type Case = [number, number, number, "same" | "valid", number, number];
  const cases: Case[] = [
    [8, 4, 2, "same", 3, 5],
    [10, 4, 2, "valid", 3, 5],
    [9, 4, 2, "valid", 1, 2],
    [7, 3, 1, "same", 2, 3],
    [4, 4, 1, "valid", 6, 1],
  ];

  const filterGradient = async (backend: "cpu" | "wasm", [h, k, s, pad, ci, co]: Case) => {
    await onBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor4d(Array.from({ length: 2 * h * h * ci }, (_, i) => Math.sin(i)), [2, h, h, ci]);
      const zero = tf.zeros([k, k, ci, co]) as tf.Tensor4D;
      const outShape = tf.conv2d(x, zero, s, pad).shape;
      const dy = tf.tensor(Array.from({ length: outShape.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.7)), outShape);
      const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, s, pad), dy)));
      return Array.from(grad(zero).dataSync());
    });
  };

  /** The input gradient of conv2d and the forward pass of conv2dTranspose: both Conv2DBackpropInput. */
  const inputGradientAndTransposed = async (backend: "cpu" | "wasm", [h, k, s, pad, ci, co]: Case) => {
    await onBackend(backend);
    return tf.tidy(() => {
      const filter = tf.tensor4d(Array.from({ length: k * k * ci * co }, (_, i) => Math.sin(i * 1.3)), [k, k, ci, co]);
      const zero = tf.zeros([2, h, h, ci]) as tf.Tensor4D;
      const outShape = tf.conv2d(zero, filter, s, pad).shape;
      const dy = tf.tensor(Array.from({ length: outShape.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.7)), outShape) as tf.Tensor4D;
      const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, filter, s, pad), dy)));
      const transposed = tf.conv2dTranspose(dy, filter, [2, h, h, ci], s, pad);
      return [...grad(zero).dataSync(), ...transposed.dataSync()];
    });
  };

  const expectClose = (got: number[], expected: number[]) => {
    expect(got).toHaveLength(expected.length);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 4);
  };

  it.each(cases)("filter gradient equals the cpu kernel's: %i px, k%i, stride %i, %s, %i -> %i channels", async (...c: Case) => {
    expectClose(await filterGradient("wasm", c), await filterGradient("cpu", c));
  });

  const inputCases: Case[] = [...cases, [4, 4, 1, "valid", 7, 5], [16, 4, 2, "same", 4, 8], [11, 4, 2, "valid", 2, 3], [9, 3, 2, "same", 2, 3], [6, 2, 2, "valid", 3, 2]];
  it.each(inputCases)("input gradient and transposed convolution equal the cpu kernel's: %i px, k%i, stride %i, %s, %i -> %i channels", async (...c: Case) => {
    expectClose(await inputGradientAndTransposed("wasm", c), await inputGradientAndTransposed("cpu", c));
  });
});
