import type * as tf from "@tensorflow/tfjs-core";
import { createRequire } from "node:module";
import { threadCount } from "../threads.js";
import type { WasmBackend } from "../wasm-kernels.js";

/**
 * The addon in native/ (C++, built at install): oneDNN's convolutions and training's
 * memory-bound layers, working on Float32Arrays in place, on setThreads' threads.
 */
export interface NativeKernels {
  /** pass 0: (image, filter) -> output; 1: (output gradient, filter) -> image gradient; 2: (image, output gradient) -> filter gradient. */
  convolution(pass: 0 | 1 | 2, geometry: number[], a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** `slope`: the LeakyReLU that follows, in the same pass (0: ReLU; 1: none). */
  batchNormForward(x: Float32Array, rows: number, channels: number, gamma: Float32Array, beta: Float32Array, epsilon: number, slope: number, y: Float32Array, mean: Float32Array, variance: Float32Array): void;
  batchNormBackward(dy: Float32Array, x: Float32Array, rows: number, channels: number, gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array, epsilon: number, slope: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  leakyRelu(x: Float32Array, size: number, alpha: number, y: Float32Array): void;
  leakyReluGradient(dy: Float32Array, x: Float32Array, size: number, alpha: number, dx: Float32Array): void;
  adam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, size: number, beta1: number, beta2: number, eps: number, stepSize: number, bias2Sqrt: number, newParam: Float32Array, newM: Float32Array, newV: Float32Array): void;
  tanhForward(x: Float32Array, size: number, y: Float32Array): void;
  tanhGradient(dy: Float32Array, y: Float32Array, size: number, dx: Float32Array): void;
  runningStatistics(runningMean: Float32Array, runningVariance: Float32Array, mean: Float32Array, variance: Float32Array, channels: number, momentum: number, count: number, newMean: Float32Array, newVariance: Float32Array): void;
  setThreads(count: number): void;
  /** fp32 GFLOP/s of independent FMA chains on every thread, for about `seconds`; 0 without AVX2 and FMA. */
  fmaPeakGflops(seconds: number): number;
  /** GB/s of STREAM's triad over 96 MiB on every thread, for about `seconds`. */
  triadGBps(seconds: number): number;
  /** oneDNN's version and the kernel it picks here, e.g. "2.6.3 jit:avx2". */
  describe(): string;
  /** The convolutions this process has run, each with oneDNN's kernel and the threads it and the filter's reorder run on. */
  convolutionPlans(): ConvolutionPlan[];
}

export interface ConvolutionPlan {
  pass: 0 | 1 | 2;
  /** As convolution() takes it: batch, input channels and size, output channels and size, kernel, strides, padding. */
  geometry: number[];
  /** setThreads' count when it ran. */
  threads: number;
  /** oneDNN's kernel, e.g. "jit:avx2", or "gemm:jit" for im2col around a GEMM. */
  implementation: string;
  kernelThreads: number;
  reorderThreads: number;
}

/** How to get the native kernels where they are missing: what `dcgan backends` says. */
const HOW_TO_BUILD = "install g++, make and libdnnl-dev (Debian/Ubuntu: apt-get install g++ make libdnnl-dev), then run `npm install` again";

/** Set to 0 to train on the wasm backend's own kernels: to compare, or to rule the native ones out. */
export const NATIVE_KERNELS_SWITCH = "DCGAN_NATIVE_KERNELS";

export type AddonStatus = { loaded: true; addon: NativeKernels } | { loaded: false; why: string };

/** Loads the addon, or says why it cannot be used. */
export function loadAddon(): AddonStatus {
  if (process.env[NATIVE_KERNELS_SWITCH] === "0") return { loaded: false, why: `native kernels off (${NATIVE_KERNELS_SWITCH}=0)` };
  // Idle OpenMP threads sleep at once instead of spinning first (libgomp's default, and
  // PyTorch's). Spinning gains a few per cent on an idle machine; on a busy one (another
  // run, the server, a browser) threads spinning for a core that another process holds
  // made iterations ten times slower here. Read once, when the addon loads libgomp.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  try {
    return { loaded: true, addon: observable(createRequire(import.meta.url)("dcgan-native-kernels") as NativeKernels) };
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    return { loaded: false, why: `native kernels not built (${reason}): ${HOW_TO_BUILD}` };
  }
}

/** Sees each call of the addon with its arguments, before it runs. */
export type NativeCallListener = (name: keyof NativeKernels, args: unknown[]) => void;

let listener: NativeCallListener | null = null;

/** Reports every later call of the addon to `next` (null: to none); the bench replays an iteration's calls (src/bench/native-replay.ts). */
export function listenToNativeCalls(next: NativeCallListener | null): void {
  listener = next;
}

let observed: NativeKernels | undefined;

/** The addon with each of its functions reporting to the listener, if one is set. */
function observable(addon: NativeKernels): NativeKernels {
  observed ??= Object.fromEntries(
    Object.getOwnPropertyNames(addon).map((name) => {
      const call = (addon as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
      const reported = (...args: unknown[]) => {
        listener?.(name as keyof NativeKernels, args);
        return call(...args);
      };
      return [name, reported];
    }),
  ) as unknown as NativeKernels;
  return observed;
}

let appliedThreads: number | undefined;

/** Passes threadCount() on to the addon before a call, when it changed. */
export function applyThreads(addon: NativeKernels): void {
  const threads = threadCount();
  if (threads === appliedThreads) return;
  addon.setThreads(threads);
  appliedThreads = threads;
}

/** Runs `body` with Float32Array views of the wasm heap, taken after every output is allocated (growing the heap detaches earlier views). */
export function withViews<T>(wasm: WasmBackend, tensors: tf.TensorInfo[], body: (...views: Float32Array[]) => T): T {
  return body(...tensors.map((t) => wasm.typedArrayFromHeap(t) as Float32Array));
}
