import * as tf from "@tensorflow/tfjs-core";

type Attrs = Record<string, unknown>;

/**
 * The wasm backend has no Conv2DBackpropFilter kernel, which every conv2d and
 * conv2dTranspose gradient needs (and its Conv3DBackpropFilterV2 is wrong for strides
 * above 1). The filter gradient is itself a convolution, which wasm runs fast through
 * XNNPACK: with the batch as channels and the input channels as the batch,
 *   dW[kh, kw, ci, co] = sum_{n, oh, ow} xPadded[n, oh*s + kh, ow*s + kw, ci] * dy[n, oh, ow, co]
 * is a stride-1 convolution of xPadded^T [ci, H, W, n] by dy^T [OH, OW, n, co] dilated
 * by the stride s, cut to the first kh x kw outputs.
 */
export function registerConv2DBackpropFilter(): void {
  if (tf.getKernel("Conv2DBackpropFilter", "wasm")) return;
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const { strides, pad, filterShape, dilations, dimRoundingMode } = attrs as unknown as {
        strides: number | [number, number];
        pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
        filterShape: [number, number, number, number];
        dilations?: number | [number, number];
        dimRoundingMode?: "floor" | "round" | "ceil";
      };
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filterShape,
        strides,
        dilations ?? 1,
        pad,
        dimRoundingMode,
      );
      if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
        throw new Error("Conv2DBackpropFilter on wasm: dilated convolutions are not supported");
      }
      const temporaries: tf.TensorInfo[] = [];
      const run = (kernelName: string, kernelInputs: Record<string, tf.TensorInfo>, kernelAttrs: Attrs) => {
        const kernel = tf.getKernel(kernelName, "wasm");
        if (!kernel) throw new Error(`wasm backend lacks ${kernelName}`);
        const out = kernel.kernelFunc({ inputs: kernelInputs, backend, attrs: kernelAttrs as tf.NamedAttrMap }) as tf.TensorInfo;
        temporaries.push(out);
        return out;
      };
      const { top, bottom, left, right } = info.padInfo;
      const padded = run("PadV2", { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
      const xT = run("Transpose", { x: padded }, { perm: [3, 1, 2, 0] });
      const dyT = run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
      const conv = run(
        "Conv2D",
        { x: xT, filter: dyT },
        { strides: 1, pad: "valid", dataFormat: "NHWC", dilations: [info.strideHeight, info.strideWidth] },
      );
      const [kh, kw, ci, co] = filterShape;
      const cut = run("Slice", { x: conv }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
      const dw = run("Transpose", { x: cut }, { perm: [1, 2, 0, 3] });
      temporaries.pop();
      for (const t of temporaries) (backend as tf.KernelBackend).disposeData(t.dataId);
      return dw;
    },
  });
}
