import * as tf from "@tensorflow/tfjs-core";

type Attrs = Record<string, unknown>;

/** What the wasm backend offers kernels beyond KernelBackend: its outputs as views of the wasm heap. */
export interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}
type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;

/**
 * Runs wasm kernels by name inside another kernel, keeping their outputs so that all
 * but the result can be freed at the end.
 */
class KernelCalls {
  private readonly outputs: tf.TensorInfo[] = [];

  constructor(private readonly backend: tf.KernelBackend) {}

  run(kernelName: string, inputs: Record<string, tf.TensorInfo>, attrs: Attrs = {}): tf.TensorInfo {
    const kernel = tf.getKernel(kernelName, "wasm");
    if (!kernel) throw new Error(`wasm backend lacks ${kernelName}`);
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
    this.outputs.push(out);
    return out;
  }

  /** Frees every output but `result`, which is returned. */
  finish(result: tf.TensorInfo): tf.TensorInfo {
    for (const t of this.outputs) if (t !== result) this.backend.disposeData(t.dataId);
    return result;
  }
}

let trainingKernelsRegistered = false;

/** The wasm backend's fast paths for training: every convolution gradient as a forward convolution (XNNPACK); no copies for clones. Once per process. */
export function registerWasmTrainingKernels(): void {
  if (trainingKernelsRegistered) return;
  trainingKernelsRegistered = true;
  registerConv2DBackpropFilter();
  registerConv2DBackpropInput();
  registerSharingIdentity();
}

/** Replaces a wasm kernel; `kernelFunc` is given the one it replaces, for the cases it leaves to it. */
export function replaceWasmKernel(kernelName: string, kernelFunc: (original: tf.KernelConfig) => tf.KernelFunc): void {
  const original = tf.getKernel(kernelName, "wasm");
  if (!original) throw new Error(`wasm backend lacks ${kernelName}`);
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({ ...original, kernelFunc: kernelFunc(original) });
}

/**
 * wasm's Identity (tf.clone) copies its input. tfjs clones every tensor a custom
 * gradient saves (a BatchNorm's whole input, each iteration) and every variable's
 * gradient; tensors never change once written, so the clone can share the data, as
 * wasm's own Reshape and the cpu backend's Identity do.
 */
function registerSharingIdentity(): void {
  replaceWasmKernel("Identity", (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === "string") return original.kernelFunc(args);
    (args.backend as tf.KernelBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

/**
 * The wasm backend has no Conv2DBackpropFilter kernel, which every conv2d and
 * conv2dTranspose gradient needs (and its Conv3DBackpropFilterV2 is wrong for strides
 * above 1). The filter gradient is itself a convolution, which wasm runs fast through
 * XNNPACK: with the batch as channels and the input channels as the batch,
 *   dW[kh, kw, ci, co] = sum_{n, oh, ow} xPadded[n, oh*s + kh, ow*s + kw, ci] * dy[n, oh, ow, co]
 * is a stride-1 convolution of xPadded^T [ci, H, W, n] by dy^T [OH, OW, n, co] dilated
 * by the stride s, cut to the first kh x kw outputs.
 */
function registerConv2DBackpropFilter(): void {
  if (tf.getKernel("Conv2DBackpropFilter", "wasm")) return;
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const { strides, pad, filterShape, dilations, dimRoundingMode } = attrs as unknown as {
        strides: number | [number, number];
        pad: Pad;
        filterShape: [number, number, number, number];
        dilations?: number | [number, number];
        dimRoundingMode?: "floor" | "round" | "ceil";
      };
      const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad, dimRoundingMode);
      if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
        throw new Error("Conv2DBackpropFilter on wasm: dilated convolutions are not supported");
      }
      const calls = new KernelCalls(backend as tf.KernelBackend);
      const { top, bottom, left, right } = info.padInfo;
      const padded = calls.run("PadV2", { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
      const xT = calls.run("Transpose", { x: padded }, { perm: [3, 1, 2, 0] });
      const dyT = calls.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
      const conv = calls.run("Conv2D", { x: xT, filter: dyT }, { strides: 1, pad: "valid", dataFormat: "NHWC", dilations: [info.strideHeight, info.strideWidth] });
      const [kh, kw, ci, co] = filterShape;
      const cut = calls.run("Slice", { x: conv }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
      return calls.finish(calls.run("Transpose", { x: cut }, { perm: [1, 2, 0, 3] }));
    },
  });
}

/**
 * wasm's own Conv2DBackpropInput (the input gradient of every conv2d, and the forward
 * pass of every conv2dTranspose) is a plain loop, 20-30 times slower than its XNNPACK
 * forward convolution. A stride-s transposed convolution with a k x k filter (s
 * dividing k) is s*s stride-1 convolutions with (k/s) x (k/s) filters, one per output
 * phase; run as one XNNPACK convolution with the phases as output channels, then
 * interleaved. In one dimension, with p the top padding:
 *   dx[h] = sum_m dy[q - m] * W[s*m + r],  where h + p = s*q + r
 * is a correlation of dy (padded by k/s - 1) with the taps W[s*(k/s - 1 - j) + r].
 * Shapes outside that (dilations, s not dividing k, unequal strides) use wasm's own kernel.
 */
function registerConv2DBackpropInput(): void {
  replaceWasmKernel("Conv2DBackpropInput", (original) => (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
      strides: number | [number, number];
      pad: Pad;
      dataFormat: "NHWC" | "NCHW";
      dimRoundingMode?: "floor" | "round" | "ceil";
      inputShape: [number, number, number, number];
    };
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(inputShape, [kh, kw, ci, co], strides, 1, pad, dimRoundingMode);
    const s = info.strideHeight;
    if (dataFormat === "NCHW" || info.strideWidth !== s || kh % s !== 0 || kw % s !== 0) return original.kernelFunc(args);
    const [th, tw] = [kh / s, kw / s];
    const wasm = backend as WasmBackend;
    const calls = new KernelCalls(wasm);
    const taps = wasm.makeOutput([th, tw, co, s * s * ci], "float32");
    phaseTaps(wasm.typedArrayFromHeap(filter) as Float32Array, wasm.typedArrayFromHeap(taps) as Float32Array, [kh, kw, ci, co], s);
    const [n, h, w] = inputShape;
    const { top, left } = info.padInfo;
    // The phases cover s * (OH + th - 1) rows; input rows past them (a 'valid' convolution
    // that never reached them) have zero gradient: more padding yields those zeros.
    const extra = (needed: number, outSize: number, tapCount: number) => Math.max(0, Math.ceil((needed - s * (outSize + tapCount - 1)) / s));
    const paddings = [[0, 0], [th - 1, th - 1 + extra(top + h, info.outHeight, th)], [tw - 1, tw - 1 + extra(left + w, info.outWidth, tw)], [0, 0]];
    const padded = calls.run("PadV2", { x: dy }, { paddings, constantValue: 0 });
    const conv = calls.run("Conv2D", { x: padded, filter: taps }, { strides: 1, pad: "valid", dataFormat: "NHWC", dilations: 1 });
    wasm.disposeData(taps.dataId);
    const dx = wasm.makeOutput([n, h, w, ci], "float32");
    // Views after the last allocation: growing the wasm memory detaches earlier ones.
    interleavePhases(wasm.typedArrayFromHeap(conv) as Float32Array, conv.shape as [number, number, number, number], wasm.typedArrayFromHeap(dx) as Float32Array, [n, h, w, ci], s, top, left);
    return calls.finish(dx);
  });
}

/**
 * The filter [kh, kw, ci, co] as the taps of each output phase, [th, tw, co, (rh, rw, ci)]:
 * taps[jh, jw, o, rh, rw, c] = filter[s*(th-1-jh) + rh, s*(tw-1-jw) + rw, c, o].
 * A JavaScript loop: wasm's generic 6-D Reverse and Transpose take 20 times longer.
 */
function phaseTaps(filter: Float32Array, taps: Float32Array, [kh, kw, ci, co]: [number, number, number, number], s: number): void {
  const [th, tw] = [kh / s, kw / s];
  let i = 0;
  for (let jh = 0; jh < th; jh++) {
    for (let jw = 0; jw < tw; jw++) {
      for (let o = 0; o < co; o++) {
        for (let rh = 0; rh < s; rh++) {
          for (let rw = 0; rw < s; rw++) {
            const row = ((s * (th - 1 - jh) + rh) * kw + s * (tw - 1 - jw) + rw) * ci;
            for (let c = 0; c < ci; c++) taps[i++] = filter[(row + c) * co + o]!;
          }
        }
      }
    }
  }
}

/**
 * Interleaves the phases of `conv` [n, qh, qw, (rh, rw, c)] into dx [n, h, w, c], where
 * dx[n, y, x] = conv[n, (y + top) / s, (x + left) / s, phase (y + top) % s, (x + left) % s]:
 * DepthToSpace and the crop in one pass (wasm's DepthToSpace alone is slower than the convolution).
 */
function interleavePhases(
  conv: Float32Array,
  [, qh, qw, depth]: [number, number, number, number],
  dx: Float32Array,
  [n, h, w, ci]: [number, number, number, number],
  s: number,
  top: number,
  left: number,
): void {
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const [q, rh] = [Math.floor((y + top) / s), (y + top) % s];
      const rowStart = (b * qh + q) * qw;
      for (let x = 0; x < w; x++) {
        const [p, rw] = [Math.floor((x + left) / s), (x + left) % s];
        const from = (rowStart + p) * depth + (rh * s + rw) * ci;
        dx.set(conv.subarray(from, from + ci), i);
        i += ci;
      }
    }
  }
}
