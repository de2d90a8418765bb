import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { setThreads } from "../src/engine/backends/threads.js";
import { adamUpdate, batchNormTraining, leakyRelu, relu, runningStatistics, tanh } from "../src/engine/training-ops.js";
import { onBackend } from "./helpers.js";

// [input size, kernel, stride, padding, in channels, out channels]
type Case = [number, number, number, "same" | "valid", number, number];
const cases: Case[] = [
  [8, 4, 2, "same", 3, 5],
  [10, 4, 2, "valid", 3, 5],
  [9, 4, 2, "valid", 1, 2],
  [7, 3, 1, "same", 2, 3],
  [4, 4, 1, "valid", 6, 1],
];
const inputCases: Case[] = [...cases, [4, 4, 1, "valid", 7, 5], [16, 4, 2, "same", 4, 8], [11, 4, 2, "valid", 2, 3], [9, 3, 2, "same", 2, 3], [6, 2, 2, "valid", 3, 2]];

const values = (length: number, f: (i: number) => number) => Array.from({ length }, (_, i) => f(i));

const forwardAndFilterGradient = async (backend: "cpu" | "wasm", [h, k, s, pad, ci, co]: Case) => {
  await onBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(2 * h * h * ci, Math.sin), [2, h, h, ci]);
    const filter = tf.tensor4d(values(k * k * ci * co, (i) => Math.sin(i * 1.3)), [k, k, ci, co]);
    const y = tf.conv2d(x, filter, s, pad);
    const dy = tf.tensor(values(y.size, (i) => Math.cos(i * 0.7)), y.shape);
    const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, s, pad), dy)));
    return [...y.dataSync(), ...grad(filter).dataSync()];
  });
};

/** The input gradient of conv2d and the forward pass of conv2dTranspose: both Conv2DBackpropInput. */
const inputGradientAndTransposed = async (backend: "cpu" | "wasm", [h, k, s, pad, ci, co]: Case) => {
  await onBackend(backend);
  return tf.tidy(() => {
    const filter = tf.tensor4d(values(k * k * ci * co, (i) => Math.sin(i * 1.3)), [k, k, ci, co]);
    const zero = tf.zeros([2, h, h, ci]) as tf.Tensor4D;
    const outShape = tf.conv2d(zero, filter, s, pad).shape;
    const dy = tf.tensor(values(outShape.reduce((a, b) => a * b), (i) => Math.cos(i * 0.7)), outShape) as tf.Tensor4D;
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, filter, s, pad), dy)));
    const transposed = tf.conv2dTranspose(dy, filter, [2, h, h, ci], s, pad);
    return [...grad(zero).dataSync(), ...transposed.dataSync()];
  });
};

/**
 * Training-mode BatchNorm then LeakyReLU with `slope`: as two ops, or fused (the
 * activation in BatchNorm's passes where the kernels are). The output and the gradients
 * of a weighted sum of it, and the batch statistics.
 */
const normalisationAndGradients = async (backend: "cpu" | "wasm", slope: number, fused: boolean) => {
  await onBackend(backend);
  return tf.tidy(() => {
    const [n, h, w, c] = [3, 5, 4, 6];
    const x = tf.tensor4d(values(n * h * w * c, (i) => 3 * Math.sin(i * 0.37) + (i % c)), [n, h, w, c]);
    const gamma = tf.tensor1d(values(c, (i) => 1 + 0.1 * i));
    const beta = tf.tensor1d(values(c, (i) => 0.05 * i - 0.1));
    const weights = tf.tensor4d(values(n * h * w * c, (i) => Math.cos(i * 0.11)), [n, h, w, c]);
    const statistics: number[] = [];
    const onStats = (mean: tf.Tensor1D, variance: tf.Tensor1D) => statistics.push(...mean.dataSync(), ...variance.dataSync());
    const layer = (input: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const [x4, g1, b1] = [input as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D];
      return fused ? batchNormTraining(x4, g1, b1, 1e-5, { slope, onStats }) : leakyRelu(batchNormTraining(x4, g1, b1, 1e-5, { onStats }), slope);
    };
    const { value, grads } = tf.valueAndGrads((input: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layer(input, g, b), weights)))([x, gamma, beta]);
    return [...layer(x, gamma, beta).dataSync(), ...value.dataSync(), ...grads.flatMap((g) => [...g.dataSync()]), ...statistics];
  });
};

/**
 * One of G's activations, training-ops' on wasm and tfjs's own on cpu, with its gradient;
 * the inputs include exact zeros.
 */
const activationAndGradient = async (backend: "cpu" | "wasm", ours: (x: tf.Tensor4D) => tf.Tensor4D, tfjs: (x: tf.Tensor4D) => tf.Tensor4D) => {
  await onBackend(backend);
  return tf.tidy(() => {
    const shape: [number, number, number, number] = [2, 3, 3, 4];
    const x = tf.tensor4d(values(72, (i) => (i % 5 === 0 ? 0 : 3 * Math.sin(i * 0.9))), shape);
    const weights = tf.tensor4d(values(72, (i) => Math.cos(i * 0.3)), shape);
    const activation = backend === "wasm" ? ours : tfjs;
    const { value, grad } = tf.valueAndGrad((input: tf.Tensor) => tf.sum(tf.mul(activation(input as tf.Tensor4D), weights)))(x);
    return [...activation(x).dataSync(), ...value.dataSync(), ...grad.dataSync()];
  });
};

/** Three updates of BatchNorm's running statistics from batch statistics. */
const runningStatisticsUpdates = async (backend: "cpu" | "wasm") => {
  await onBackend(backend);
  return tf.tidy(() => {
    let running = [tf.tensor1d(values(7, (i) => 0.1 * i)), tf.tensor1d(values(7, (i) => 1 + 0.2 * i))] as [tf.Tensor1D, tf.Tensor1D];
    const out: number[] = [];
    for (let t = 1; t <= 3; t++) {
      const mean = tf.tensor1d(values(7, (i) => Math.sin(i + t)));
      const variance = tf.tensor1d(values(7, (i) => 2 + Math.cos(i * t)));
      running = runningStatistics(running[0], running[1], mean, variance, 0.1, 64 * t);
      out.push(...running.flatMap((tensor) => [...tensor.dataSync()]));
    }
    return out;
  });
};

/** Three Adam steps of one parameter from its moments. */
const adamSteps = async (backend: "cpu" | "wasm") => {
  await onBackend(backend);
  return tf.tidy(() => {
    // Parameter, first and second moments (the second positive).
    let state: tf.Tensor[] = [0.5, 0.01, 0.001].map((scale, k) => tf.tensor1d(values(37, (i) => Math.abs(scale * Math.sin(i + k)))));
    const out: number[] = [];
    for (let t = 1; t <= 3; t++) {
      const g = tf.tensor1d(values(37, (i) => Math.cos(i * t)));
      state = adamUpdate(state[0]!, g, state[1]!, state[2]!, { beta1: 0.5, beta2: 0.999, eps: 1e-8, stepSize: 0.0002 / (1 - 0.5 ** t), bias2Sqrt: Math.sqrt(1 - 0.999 ** t) });
      out.push(...state.flatMap((tensor) => [...tensor.dataSync()]));
    }
    return out;
  });
};

const expectClose = (got: number[], expected: number[]) => {
  expect(got).toHaveLength(expected.length);
  for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 4);
};

/**
 * The wasm backend's training kernels against the pure-JS cpu backend's, on every
 * thread count given: convolutions of odd and even sizes, strides and paddings (with
 * their gradients and transposed forms), BatchNorm and LeakyReLU with theirs.
 */
export function describeWasmTrainingKernels(threadCounts: number[]): void {
  describe.each(threadCounts)("wasm training kernels on %i thread(s)", (threads) => {
    const onThreads = async <T>(compute: () => Promise<T>) => {
      setThreads(threads);
      return compute();
    };

    it.each(cases)("forward and filter gradient equal the cpu kernels': %i px, k%i, stride %i, %s, %i -> %i channels", async (...c: Case) => {
      expectClose(await onThreads(() => forwardAndFilterGradient("wasm", c)), await forwardAndFilterGradient("cpu", c));
    });

    it.each(inputCases)("input gradient and transposed convolution equal the cpu kernel's: %i px, k%i, stride %i, %s, %i -> %i channels", async (...c: Case) => {
      expectClose(await onThreads(() => inputGradientAndTransposed("wasm", c)), await inputGradientAndTransposed("cpu", c));
    });

    it("Adam's steps equal the cpu backend's", async () => {
      expectClose(await onThreads(() => adamSteps("wasm")), await adamSteps("cpu"));
    });

    it("ReLU and its gradient equal tfjs's relu on the cpu backend, 0 where the input is 0", async () => {
      const tfjsRelu = (x: tf.Tensor4D) => tf.relu(x);
      expectClose(await onThreads(() => activationAndGradient("wasm", relu, tfjsRelu)), await activationAndGradient("cpu", relu, tfjsRelu));
    });

    it("Tanh and its gradient equal tfjs's tanh on the cpu backend", async () => {
      const tfjsTanh = (x: tf.Tensor4D) => tf.tanh(x);
      expectClose(await onThreads(() => activationAndGradient("wasm", tanh, tfjsTanh)), await activationAndGradient("cpu", tanh, tfjsTanh));
    });

    it("BatchNorm's running statistics update as the cpu backend's composite ops do", async () => {
      expectClose(await onThreads(() => runningStatisticsUpdates("wasm")), await runningStatisticsUpdates("cpu"));
    });

    it("BatchNorm in training mode and LeakyReLU, with their gradients and batch statistics, equal the cpu backend's", async () => {
      expectClose(await onThreads(() => normalisationAndGradients("wasm", 0.2, false)), await normalisationAndGradients("cpu", 0.2, false));
    });

    it.each([0.2, 0])("BatchNorm with the activation of slope %f in its own passes equals the two ops on the cpu backend", async (slope) => {
      expectClose(await onThreads(() => normalisationAndGradients("wasm", slope, true)), await normalisationAndGradients("cpu", slope, false));
    });
  });
}
