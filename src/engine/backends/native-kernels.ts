import * as tf from "@tensorflow/tfjs-core";
import { createRequire } from "node:module";
import { TRAINING_KERNELS } from "../training-ops.js";
import { threadCount } from "./threads.js";
import type { WasmBackend } from "./wasm-kernels.js";

/** The addon in native/: oneDNN's convolutions on Float32Arrays, in place. */
interface NativeKernels {
  /** pass 0: (image, filter) -> output; 1: (output gradient, filter) -> image gradient; 2: (image, output gradient) -> filter gradient. */
  convolution(pass: 0 | 1 | 2, geometry: number[], a: Float32Array, b: Float32Array, out: Float32Array): void;
  batchNormForward(x: Float32Array, rows: number, channels: number, gamma: Float32Array, beta: Float32Array, epsilon: number, y: Float32Array, mean: Float32Array, variance: Float32Array): void;
  batchNormBackward(dy: Float32Array, x: Float32Array, rows: number, channels: number, gamma: Float32Array, mean: Float32Array, variance: Float32Array, epsilon: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  leakyRelu(x: Float32Array, size: number, alpha: number, y: Float32Array): void;
  leakyReluGradient(dy: Float32Array, x: Float32Array, size: number, alpha: number, dx: Float32Array): void;
  adam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, size: number, beta1: number, beta2: number, eps: number, stepSize: number, bias2Sqrt: number, newParam: Float32Array, newM: Float32Array, newV: Float32Array): void;
  setThreads(count: number): void;
  /** oneDNN's version and the kernel it picks here, e.g. "2.6.3 jit:avx2". */
  describe(): string;
}

/** How to get the native kernels where they are missing: what `dcgan backends` says. */
const HOW_TO_BUILD = "install g++, make and libdnnl-dev (Debian/Ubuntu: apt-get install g++ make libdnnl-dev), then run `npm install` again";

/** Set to 0 to train on the wasm backend's own kernels: to compare, or to rule the native ones out. */
export const NATIVE_KERNELS_SWITCH = "DCGAN_NATIVE_KERNELS";

export type NativeKernelsStatus = { loaded: true; detail: string } | { loaded: false; why: string };

type Shape4 = [number, number, number, number];
type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** The addon's geometry: batch, input channels and size, output channels and size, kernel, strides, padding. */
function geometry(info: tf.backend_util.Conv2DInfo): number[] {
  const { top, left, bottom, right } = info.padInfo;
  return [
    info.batchSize, info.inChannels, info.inHeight, info.inWidth, info.outChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, top, left, bottom, right,
  ];
}

/** Shapes the addon takes: NHWC and no dilation (every convolution of the DCGAN models). */
function supported(info: tf.backend_util.Conv2DInfo, dataFormat: ConvAttrs["dataFormat"]): boolean {
  return dataFormat !== "NCHW" && info.dilationHeight === 1 && info.dilationWidth === 1;
}

/**
 * Replaces one wasm convolution kernel with the native one for the shapes it takes,
 * keeping the wasm kernel registered before it (XNNPACK, or this project's own) for the rest.
 */
function replaceKernel(
  kernelName: string,
  native: NativeKernels,
  plan: (inputs: Record<string, tf.TensorInfo>, attrs: ConvAttrs) => { info: tf.backend_util.Conv2DInfo; pass: 0 | 1 | 2; a: tf.TensorInfo; b: tf.TensorInfo; outShape: Shape4 },
): void {
  const fallback = tf.getKernel(kernelName, "wasm");
  if (!fallback) throw new Error(`wasm backend lacks ${kernelName}`);
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({
    ...fallback,
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as ConvAttrs;
      const { info, pass, a, b, outShape } = plan(args.inputs as Record<string, tf.TensorInfo>, attrs);
      if (!supported(info, attrs.dataFormat)) return fallback.kernelFunc(args);
      const wasm = args.backend as WasmBackend;
      const out = wasm.makeOutput(outShape, "float32");
      // Views after the last allocation: growing the wasm memory detaches earlier ones.
      const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
      applyThreads(native);
      native.convolution(pass, geometry(info), view(a), view(b), view(out));
      return out;
    },
  });
}

let appliedThreads: number | undefined;

function applyThreads(native: NativeKernels): void {
  const threads = threadCount();
  if (threads === appliedThreads) return;
  native.setThreads(threads);
  appliedThreads = threads;
}

function registerNativeConvolutions(native: NativeKernels): void {
  replaceKernel("Conv2D", native, ({ x, filter }, { strides, pad, dilations, dimRoundingMode, dataFormat }) => {
    const info = tf.backend_util.computeConv2DInfo(x!.shape as Shape4, filter!.shape as Shape4, strides, dilations ?? 1, pad, dimRoundingMode, false, dataFormat === "NCHW" ? "channelsFirst" : "channelsLast");
    return { info, pass: 0, a: x!, b: filter!, outShape: info.outShape as Shape4 };
  });
  replaceKernel("Conv2DBackpropInput", native, ({ dy, filter }, attrs) => {
    const { strides, pad, dimRoundingMode, dataFormat } = attrs;
    const inputShape = (attrs as unknown as { inputShape: Shape4 }).inputShape;
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter!.shape as Shape4, strides, 1, pad, dimRoundingMode, false, dataFormat === "NCHW" ? "channelsFirst" : "channelsLast");
    return { info, pass: 1, a: dy!, b: filter!, outShape: inputShape };
  });
  replaceKernel("Conv2DBackpropFilter", native, ({ x, dy }, attrs) => {
    const { strides, pad, dilations, dimRoundingMode, dataFormat } = attrs;
    const filterShape = (attrs as unknown as { filterShape: Shape4 }).filterShape;
    const info = tf.backend_util.computeConv2DInfo(x!.shape as Shape4, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, false, dataFormat === "NCHW" ? "channelsFirst" : "channelsLast");
    return { info, pass: 2, a: x!, b: dy!, outShape: filterShape };
  });
}

/** Runs `body` with Float32Array views of the wasm heap, taken after every output is allocated (growing the heap detaches earlier views). */
function withViews<T>(wasm: WasmBackend, tensors: tf.TensorInfo[], body: (...views: Float32Array[]) => T): T {
  return body(...tensors.map((t) => wasm.typedArrayFromHeap(t) as Float32Array));
}

/** Training's memory-bound layers (training-ops.ts) as native kernels: one threaded pass each. */
function registerNativeTrainingOps(native: NativeKernels): void {
  const register = (kernelName: string, kernelFunc: (inputs: Record<string, tf.TensorInfo>, wasm: WasmBackend, attrs: Record<string, number>) => tf.TensorInfo | tf.TensorInfo[]) => {
    if (tf.getKernel(kernelName, "wasm")) tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: ({ inputs, backend, attrs }) => {
        applyThreads(native);
        return kernelFunc(inputs as Record<string, tf.TensorInfo>, backend as WasmBackend, attrs as Record<string, number>);
      },
    });
  };
  const rowsAndChannels = (x: tf.TensorInfo) => {
    const channels = x.shape[x.shape.length - 1]!;
    return [tf.util.sizeFromShape(x.shape) / channels, channels] as const;
  };
  register(TRAINING_KERNELS.batchNorm, ({ x, gamma, beta }, wasm, { epsilon }) => {
    const [rows, channels] = rowsAndChannels(x!);
    const outputs = [wasm.makeOutput(x!.shape, "float32"), wasm.makeOutput([channels], "float32"), wasm.makeOutput([channels], "float32")];
    withViews(wasm, [x!, gamma!, beta!, ...outputs], (xs, g, b, y, mean, variance) => native.batchNormForward(xs!, rows, channels, g!, b!, epsilon!, y!, mean!, variance!));
    return outputs;
  });
  register(TRAINING_KERNELS.batchNormGradient, ({ dy, x, gamma, mean, variance }, wasm, { epsilon }) => {
    const [rows, channels] = rowsAndChannels(x!);
    const outputs = [wasm.makeOutput(x!.shape, "float32"), wasm.makeOutput([channels], "float32"), wasm.makeOutput([channels], "float32")];
    withViews(wasm, [dy!, x!, gamma!, mean!, variance!, ...outputs], (d, xs, g, m, v, dx, dgamma, dbeta) =>
      native.batchNormBackward(d!, xs!, rows, channels, g!, m!, v!, epsilon!, dx!, dgamma!, dbeta!),
    );
    return outputs;
  });
  register("LeakyRelu", ({ x }, wasm, { alpha }) => {
    const y = wasm.makeOutput(x!.shape, "float32");
    withViews(wasm, [x!, y], (xs, ys) => native.leakyRelu(xs!, xs!.length, alpha!, ys!));
    return y;
  });
  register(TRAINING_KERNELS.adam, ({ param, grad, m, v }, wasm, { beta1, beta2, eps, stepSize, bias2Sqrt }) => {
    const outputs = [param!, m!, v!].map((t) => wasm.makeOutput(t.shape, "float32"));
    withViews(wasm, [param!, grad!, m!, v!, ...outputs], (p, g, m0, v0, p1, m1, v1) =>
      native.adam(p!, g!, m0!, v0!, p!.length, beta1!, beta2!, eps!, stepSize!, bias2Sqrt!, p1!, m1!, v1!),
    );
    return outputs;
  });
  register(TRAINING_KERNELS.leakyReluGradient, ({ dy, x }, wasm, { alpha }) => {
    const dx = wasm.makeOutput(x!.shape, "float32");
    withViews(wasm, [dy!, x!, dx], (d, xs, out) => native.leakyReluGradient(d!, xs!, xs!.length, alpha!, out!));
    return dx;
  });
}

let status: NativeKernelsStatus | undefined;

/**
 * Puts the training convolutions of the wasm backend on oneDNN, the library behind
 * PyTorch's CPU convolutions, and its memory-bound layers on native loops, all on
 * threadCount() threads. Once per process; where
 * the addon was not built (no compiler or libdnnl at install) the wasm kernels stay, and
 * the status says why.
 */
export function useNativeKernels(): NativeKernelsStatus {
  if (status) return status;
  if (process.env[NATIVE_KERNELS_SWITCH] === "0") return (status = { loaded: false, why: `native kernels off (${NATIVE_KERNELS_SWITCH}=0)` });
  // Idle OpenMP threads sleep instead of spinning: the server, a second run or the
  // wasm backend's own single-threaded kernels need those cores between parallel regions.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  let native: NativeKernels;
  try {
    native = createRequire(import.meta.url)("dcgan-native-kernels") as NativeKernels;
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    return (status = { loaded: false, why: `native kernels not built (${reason}): ${HOW_TO_BUILD}` });
  }
  registerNativeConvolutions(native);
  registerNativeTrainingOps(native);
  return (status = { loaded: true, detail: `oneDNN ${native.describe()}` });
}
