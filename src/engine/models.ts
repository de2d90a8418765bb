import * as tf from "@tensorflow/tfjs-core";
import { strideTwoLayers } from "./config.js";
import type { Rng } from "./rng.js";
import { batchNormTraining, leakyRelu, relu, runningStatistics, tanh } from "./training-ops.js";

/** PyTorch's BatchNorm2d defaults, which the tutorial uses (Keras's differ). */
export const BN_EPSILON = 1e-5;
export const BN_MOMENTUM = 0.1;

export interface ModelShape {
  imageSize: number;
  channels: number;
  nz: number;
  ngf: number;
  ndf: number;
}

/** Layers are named as in PyTorch's nn.Sequential (`main.<index>`), so weights map 1:1. */
export type Layer =
  | {
      kind: "conv" | "convTranspose";
      name: string;
      inChannels: number;
      outChannels: number;
      stride: 1 | 2;
      // k4/s2/p1 in PyTorch is 'same' here; the 4x4 <-> 1x1 ends are 'valid'.
      padding: "same" | "valid";
    }
  | { kind: "batchNorm"; name: string; channels: number }
  | { kind: "relu" | "leakyRelu" | "tanh" | "sigmoid"; name: string };

type Unnamed<T> = T extends unknown ? Omit<T, "name"> : never;
type LayerSpec = Unnamed<Layer>;

const KERNEL = 4;

/** Names layers by their index, as nn.Sequential does. */
function sequential(specs: LayerSpec[]): Layer[] {
  return specs.map((spec, i) => ({ ...spec, name: `main.${i}` }) as Layer);
}

export function generatorLayers({ imageSize, channels, nz, ngf }: ModelShape): Layer[] {
  const ups = strideTwoLayers(imageSize);
  const layers: LayerSpec[] = [];
  const add = (layer: LayerSpec) => layers.push(layer);
  let width = ngf * 2 ** (ups - 1);
  // input is Z, going into a convolution; state size. (ngf*2^(ups-1)) x 4 x 4
  add({ kind: "convTranspose", inChannels: nz, outChannels: width, stride: 1, padding: "valid" });
  add({ kind: "batchNorm", channels: width });
  add({ kind: "relu" });
  for (let i = 0; i < ups - 1; i++) {
    // state size doubles, width halves: ... -> (ngf) x imageSize/2 x imageSize/2
    add({ kind: "convTranspose", inChannels: width, outChannels: width / 2, stride: 2, padding: "same" });
    add({ kind: "batchNorm", channels: width / 2 });
    add({ kind: "relu" });
    width /= 2;
  }
  // state size. (nc) x imageSize x imageSize
  add({ kind: "convTranspose", inChannels: ngf, outChannels: channels, stride: 2, padding: "same" });
  add({ kind: "tanh" });
  return sequential(layers);
}

export function discriminatorLayers({ imageSize, channels, ndf }: ModelShape): Layer[] {
  const downs = strideTwoLayers(imageSize);
  const layers: LayerSpec[] = [];
  const add = (layer: LayerSpec) => layers.push(layer);
  // input is (nc) x imageSize x imageSize; no BatchNorm on the first layer
  add({ kind: "conv", inChannels: channels, outChannels: ndf, stride: 2, padding: "same" });
  add({ kind: "leakyRelu" });
  let width = ndf;
  for (let i = 0; i < downs - 1; i++) {
    // state size halves, width doubles: ... -> (ndf*2^(downs-1)) x 4 x 4
    add({ kind: "conv", inChannels: width, outChannels: width * 2, stride: 2, padding: "same" });
    add({ kind: "batchNorm", channels: width * 2 });
    add({ kind: "leakyRelu" });
    width *= 2;
  }
  // state size. 1 x 1 x 1: the probability that the input is real
  add({ kind: "conv", inChannels: width, outChannels: 1, stride: 1, padding: "valid" });
  add({ kind: "sigmoid" });
  return sequential(layers);
}

/** Shapes in tfjs layout: conv2d [kh, kw, in, out]; conv2dTranspose [kh, kw, out, in]. */
export function parameterShapes(layers: Layer[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const layer of layers) {
    if (layer.kind === "conv") {
      shapes.set(`${layer.name}.weight`, [KERNEL, KERNEL, layer.inChannels, layer.outChannels]);
    } else if (layer.kind === "convTranspose") {
      shapes.set(`${layer.name}.weight`, [KERNEL, KERNEL, layer.outChannels, layer.inChannels]);
    } else if (layer.kind === "batchNorm") {
      for (const p of ["weight", "bias"]) shapes.set(`${layer.name}.${p}`, [layer.channels]);
    }
  }
  return shapes;
}

/** BatchNorm running statistics: state, not trained. */
export function bufferShapes(layers: Layer[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const layer of layers) {
    if (layer.kind === "batchNorm") {
      shapes.set(`${layer.name}.running_mean`, [layer.channels]);
      shapes.set(`${layer.name}.running_var`, [layer.channels]);
    }
  }
  return shapes;
}

/**
 * The tutorial's weights_init: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02),
 * shift 0; running mean 0 and variance 1 as PyTorch starts them.
 */
export function initialValues(layers: Layer[], rng: Rng): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  for (const [name, shape] of parameterShapes(layers)) {
    if (name.endsWith(".bias")) values.set(name, new Float32Array(size(shape)));
    else if (isBatchNormParam(layers, name)) values.set(name, rng.normal(size(shape), 1, 0.02));
    else values.set(name, rng.normal(size(shape), 0, 0.02));
  }
  for (const [name, shape] of bufferShapes(layers)) {
    values.set(name, new Float32Array(size(shape)).fill(name.endsWith("running_var") ? 1 : 0));
  }
  return values;
}

function isBatchNormParam(layers: Layer[], name: string): boolean {
  const layerName = name.slice(0, name.lastIndexOf("."));
  return layers.some((l) => l.name === layerName && l.kind === "batchNorm");
}

/** One network's layers with its variables: trainable parameters and BatchNorm buffers. */
export class Network {
  readonly params = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();

  constructor(
    readonly layers: Layer[],
    values: Map<string, Float32Array>,
  ) {
    const create = (shapes: Map<string, number[]>, into: Map<string, tf.Variable>, trainable: boolean) => {
      for (const [name, shape] of shapes) {
        const value = values.get(name);
        if (!value) throw new Error(`missing value for ${name}`);
        // Unnamed: tfjs variable names are global, and several networks may live in one process.
        into.set(name, tf.variable(tf.tensor(value, shape), trainable));
      }
    };
    create(parameterShapes(layers), this.params, true);
    create(bufferShapes(layers), this.buffers, false);
  }

  /** Parameters and buffers by name, copied out of the backend. */
  async values(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of [...this.params, ...this.buffers]) out.set(name, (await v.data()) as Float32Array);
    return out;
  }

  dispose(): void {
    for (const v of [...this.params.values(), ...this.buffers.values()]) v.dispose();
  }
}

/** The batch statistics one BatchNorm layer saw in training mode; updateRunningStats disposes them. */
export interface BatchMoments {
  layer: string;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  /** Values per channel (N*H*W), for the unbiased running variance. */
  count: number;
}

/**
 * How BatchNorm normalises: with the batch's statistics (training mode, as the
 * tutorial also renders its grids), reporting them to `onMoments` when the running
 * statistics should learn from this forward pass; or with the running statistics.
 */
export type BatchNormMode = { stats: "batch"; onMoments?: (m: BatchMoments) => void } | { stats: "running" };

/** D's LeakyReLU slope, the tutorial's. */
const LEAKY_SLOPE = 0.2;

/** The slope of each activation as a LeakyReLU, which BatchNorm runs in its own passes when one follows it. */
const ACTIVATION_SLOPES: Partial<Record<Layer["kind"], number>> = { relu: 0, leakyRelu: LEAKY_SLOPE };

export function forward(net: Network, input: tf.Tensor, mode: BatchNormMode): tf.Tensor {
  let x = input as tf.Tensor4D;
  const layers = net.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    switch (layer.kind) {
      case "conv":
        x = tf.conv2d(x, net.params.get(`${layer.name}.weight`) as tf.Tensor4D, layer.stride, layer.padding);
        break;
      case "convTranspose": {
        const [n, h, w] = x.shape;
        const size = layer.stride === 1 ? h + KERNEL - 1 : h * 2;
        const outW = layer.stride === 1 ? w + KERNEL - 1 : w * 2;
        x = tf.conv2dTranspose(
          x,
          net.params.get(`${layer.name}.weight`) as tf.Tensor4D,
          [n, size, outW, layer.outChannels],
          layer.stride,
          layer.padding,
        );
        break;
      }
      case "batchNorm": {
        const next = layers[i + 1];
        const slope = mode.stats === "batch" && next ? ACTIVATION_SLOPES[next.kind] : undefined;
        x = batchNorm(net, layer.name, x, mode, slope);
        // The activation ran with it.
        if (slope !== undefined) i++;
        break;
      }
      case "relu":
        x = relu(x);
        break;
      case "leakyRelu":
        x = leakyRelu(x, LEAKY_SLOPE);
        break;
      case "tanh":
        x = tanh(x);
        break;
      case "sigmoid":
        x = tf.sigmoid(x);
        break;
    }
  }
  return x;
}

/** BatchNorm, and in training mode the LeakyReLU with `slope` that follows it, if any. */
function batchNorm(net: Network, name: string, x: tf.Tensor4D, mode: BatchNormMode, slope?: number): tf.Tensor4D {
  const scale = net.params.get(`${name}.weight`) as tf.Tensor1D;
  const offset = net.params.get(`${name}.bias`) as tf.Tensor1D;
  if (mode.stats === "running") {
    const mean = net.buffers.get(`${name}.running_mean`) as tf.Tensor1D;
    const variance = net.buffers.get(`${name}.running_var`) as tf.Tensor1D;
    return tf.batchNorm4d(x, mean, variance, offset, scale, BN_EPSILON);
  }
  return batchNormTraining(x, scale, offset, BN_EPSILON, {
    slope,
    onStats: (mean, variance) => {
      const [n, h, w] = x.shape;
      // Kept: the statistics end with the op's scope otherwise; updateRunningStats disposes these.
      mode.onMoments?.({ layer: name, mean: tf.keep(mean), variance: tf.keep(variance), count: n * h * w });
    },
  });
}

/**
 * PyTorch's running-statistics update, one call per forward pass in training mode:
 * running = (1 - momentum) * running + momentum * batch, the variance unbiased.
 */
export function updateRunningStats(net: Network, moments: BatchMoments[]): void {
  tf.tidy(() => {
    for (const { layer, mean, variance, count } of moments) {
      const runningMean = net.buffers.get(`${layer}.running_mean`)!;
      const runningVar = net.buffers.get(`${layer}.running_var`)!;
      const [newMean, newVar] = runningStatistics(runningMean as tf.Tensor1D, runningVar as tf.Tensor1D, mean, variance, BN_MOMENTUM, count);
      runningMean.assign(newMean);
      runningVar.assign(newVar);
    }
  });
  tf.dispose(moments.flatMap((m) => [m.mean, m.variance]));
}
