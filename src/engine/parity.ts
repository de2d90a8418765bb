import * as tf from "@tensorflow/tfjs-core";
import { readFile } from "node:fs/promises";
import { asImage, Gan, type StepMetrics } from "./gan.js";
import { type BatchMoments, forward, type ModelShape, updateRunningStats } from "./models.js";

/** Largest relative error allowed for a metric or a tensor. */
export const PARITY_TOLERANCE = 1e-3;

interface FlatTensor {
  shape: number[];
  data: number[];
}
type StateDict = Record<string, FlatTensor>;

/** The JSON written by `reference/dcgan_reference.py fixture` (PyTorch layouts, NCHW). */
export interface ParityFixture {
  config: { image_size: number; nc: number; nz: number; ngf: number; ndf: number; batch: number; lr: number; beta1: number; command_line?: string };
  init: { G: StateDict; D: StateDict };
  fixed_noise: FlatTensor;
  iterations: { real: FlatTensor; noise: FlatTensor; metrics: Record<string, number> }[];
  final: { G: StateDict; D: StateDict };
  fixed_samples: FlatTensor;
  torch: string;
}

export interface ParityReport {
  backend: string;
  iterations: number;
  torch: string;
  /** Largest relative error of each metric over all iterations. */
  metrics: Record<string, number>;
  /** Relative Frobenius error of each final weight and BatchNorm statistic, and of the fixed samples. */
  tensors: Record<string, number>;
  maxMetricError: number;
  maxTensorError: number;
  pass: boolean;
}

const METRIC_NAMES: Record<string, keyof StepMetrics> = {
  errD_real: "errDReal",
  errD_fake: "errDFake",
  Loss_D: "lossD",
  Loss_G: "lossG",
  D_x: "dX",
  D_G_z1: "dGz1",
  D_G_z2: "dGz2",
};

// PyTorch Conv2d [out, in, kh, kw] and ConvTranspose2d [in, out, kh, kw] both become
// tfjs's [kh, kw, in, out] / [kh, kw, out, in] under the same permutation.
const WEIGHT_TO_TFJS = [2, 3, 1, 0];
const NCHW_TO_NHWC = [0, 2, 3, 1];

export async function loadFixture(path: string): Promise<ParityFixture> {
  return JSON.parse(await readFile(path, "utf8")) as ParityFixture;
}

/**
 * Runs the fixture's iterations on the active backend from PyTorch's initial weights
 * and batches, and compares metrics and final state with PyTorch's.
 */
export async function runParity(fixture: ParityFixture): Promise<ParityReport> {
  const c = fixture.config;
  const shape: ModelShape = { imageSize: c.image_size, channels: c.nc, nz: c.nz, ngf: c.ngf, ndf: c.ndf };
  const gan = Gan.fromValues(shape, c, toTfjsState(fixture.init.G), toTfjsState(fixture.init.D));
  try {
    const metrics: Record<string, number> = Object.fromEntries(Object.keys(METRIC_NAMES).map((k) => [k, 0]));
    for (const it of fixture.iterations) {
      const real = toTensor(it.real, NCHW_TO_NHWC) as tf.Tensor4D;
      const noise = tf.tensor2d(it.noise.data, [it.noise.shape[0]!, it.noise.shape[1]!]);
      const ours = await gan.step(real, noise);
      tf.dispose([real, noise]);
      for (const [refName, ourName] of Object.entries(METRIC_NAMES)) {
        const ref = it.metrics[refName]!;
        const err = Math.abs(ours[ourName] - ref) / Math.max(Math.abs(ref), 1e-12);
        metrics[refName] = Math.max(metrics[refName]!, err);
      }
    }

    // The reference renders its fixed samples in training mode under no_grad, which in
    // PyTorch still updates G's running statistics before it saves the final state.
    const fixedNoise = tf.tensor2d(fixture.fixed_noise.data, [fixture.fixed_noise.shape[0]!, c.nz]);
    const moments: BatchMoments[] = [];
    const samples = tf.tidy(() => {
      const out = forward(gan.G, asImage(fixedNoise), {
        stats: "batch",
        onMoments: (m) => moments.push(m),
      });
      updateRunningStats(gan.G, moments);
      return out;
    });
    const tensors: Record<string, number> = {
      fixed_samples: relativeError((await samples.data()) as Float32Array, permute(fixture.fixed_samples, NCHW_TO_NHWC)),
    };
    tf.dispose([fixedNoise, samples]);
    for (const [net, ref] of [
      ["G", fixture.final.G],
      ["D", fixture.final.D],
    ] as const) {
      const ours = await gan[net].values();
      for (const [name, value] of toTfjsState(ref)) tensors[`${net}.${name}`] = relativeError(ours.get(name)!, value);
    }
    const maxMetricError = Math.max(...Object.values(metrics));
    const maxTensorError = Math.max(...Object.values(tensors));
    return {
      backend: tf.getBackend(),
      iterations: fixture.iterations.length,
      torch: fixture.torch,
      metrics,
      tensors,
      maxMetricError,
      maxTensorError,
      pass: maxMetricError <= PARITY_TOLERANCE && maxTensorError <= PARITY_TOLERANCE,
    };
  } finally {
    gan.dispose();
  }
}

/** ||a - b|| / ||b|| (Frobenius). */
export function relativeError(ours: Float32Array, ref: Float32Array): number {
  if (ours.length !== ref.length) return Infinity;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < ref.length; i++) {
    diff += (ours[i]! - ref[i]!) ** 2;
    norm += ref[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
}

function toTensor(t: FlatTensor, perm: number[]): tf.Tensor {
  return tf.tensor(permute(t, perm), perm.map((p) => t.shape[p]!));
}

/** A PyTorch state dict as this project's named values, 4-D weights permuted to tfjs. */
function toTfjsState(dict: StateDict): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of Object.entries(dict)) {
    out.set(name, t.shape.length === 4 ? permute(t, WEIGHT_TO_TFJS) : Float32Array.from(t.data));
  }
  return out;
}

/** Reorders a row-major tensor's axes: out axis d is input axis perm[d]. */
function permute(t: FlatTensor, perm: number[]): Float32Array {
  const shape = t.shape;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const outShape = perm.map((p) => shape[p]!);
  const out = new Float32Array(t.data.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += index[d]! * strides[perm[d]!]!;
    out[o] = t.data[src]!;
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++index[d]! < outShape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}
