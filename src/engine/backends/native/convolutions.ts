import * as tf from "@tensorflow/tfjs-core";
import { replaceWasmKernel, type WasmBackend } from "../wasm-kernels.js";
import { applyThreads, type NativeKernels, withViews } from "./addon.js";

type Shape4 = [number, number, number, number];

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** One native call: which pass, on which tensors, with the convolution's geometry. */
interface Pass {
  info: tf.backend_util.Conv2DInfo;
  pass: 0 | 1 | 2;
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  outShape: Shape4;
}

function convInfo(input: Shape4, filter: Shape4, attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  const { strides, dilations, pad, dimRoundingMode, dataFormat } = attrs;
  return tf.backend_util.computeConv2DInfo(input, filter, strides, dilations ?? 1, pad, dimRoundingMode, false, dataFormat === "NCHW" ? "channelsFirst" : "channelsLast");
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
function supported({ info }: Pass, attrs: ConvAttrs): boolean {
  return attrs.dataFormat !== "NCHW" && info.dilationHeight === 1 && info.dilationWidth === 1;
}

/**
 * Replaces one wasm convolution kernel with the native one for the shapes it takes,
 * keeping the wasm kernel registered before it (XNNPACK, or this project's own) for the rest.
 */
function replaceKernel(kernelName: string, addon: NativeKernels, plan: (inputs: Record<string, tf.TensorInfo>, attrs: ConvAttrs) => Pass): void {
  replaceWasmKernel(kernelName, (fallback) => (args) => {
    const attrs = args.attrs as unknown as ConvAttrs;
    const call = plan(args.inputs as Record<string, tf.TensorInfo>, attrs);
    if (!supported(call, attrs)) return fallback.kernelFunc(args);
    const wasm = args.backend as WasmBackend;
    const out = wasm.makeOutput(call.outShape, "float32");
    applyThreads(addon);
    withViews(wasm, [call.a, call.b, out], (a, b, o) => addon.convolution(call.pass, geometry(call.info), a!, b!, o!));
    return out;
  });
}

/**
 * The three convolutions of training on oneDNN, the library behind PyTorch's CPU
 * convolutions: Conv2D, and both of its gradients, which are also the forward and
 * backward passes of every transposed convolution.
 */
export function registerNativeConvolutions(addon: NativeKernels): void {
  replaceKernel("Conv2D", addon, ({ x, filter }, attrs) => {
    const info = convInfo(x!.shape as Shape4, filter!.shape as Shape4, attrs);
    return { info, pass: 0, a: x!, b: filter!, outShape: info.outShape as Shape4 };
  });
  replaceKernel("Conv2DBackpropInput", addon, ({ dy, filter }, attrs) => {
    const { inputShape } = attrs as unknown as { inputShape: Shape4 };
    return { info: convInfo(inputShape, filter!.shape as Shape4, { ...attrs, dilations: 1 }), pass: 1, a: dy!, b: filter!, outShape: inputShape };
  });
  replaceKernel("Conv2DBackpropFilter", addon, ({ x, dy }, attrs) => {
    const { filterShape } = attrs as unknown as { filterShape: Shape4 };
    return { info: convInfo(x!.shape as Shape4, filterShape, attrs), pass: 2, a: x!, b: dy!, outShape: filterShape };
  });
}
