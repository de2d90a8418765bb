import * as tf from "@tensorflow/tfjs-core";
import { TRAINING_KERNELS } from "../../training-ops.js";
import type { WasmBackend } from "../wasm-kernels.js";
import { applyThreads, type NativeKernels, withViews } from "./addon.js";

/** Training's memory-bound layers (training-ops.ts) as native kernels: one threaded pass each. */
export function registerNativeTrainingLayers(addon: NativeKernels): void {
  const register = (kernelName: string, kernelFunc: (inputs: Record<string, tf.TensorInfo>, wasm: WasmBackend, attrs: Record<string, number>) => tf.TensorInfo | tf.TensorInfo[]) => {
    if (tf.getKernel(kernelName, "wasm")) tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: ({ inputs, backend, attrs }) => {
        applyThreads(addon);
        return kernelFunc(inputs as Record<string, tf.TensorInfo>, backend as WasmBackend, attrs as Record<string, number>);
      },
    });
  };
  const rowsAndChannels = (x: tf.TensorInfo) => {
    const channels = x.shape[x.shape.length - 1]!;
    return [tf.util.sizeFromShape(x.shape) / channels, channels] as const;
  };
  register(TRAINING_KERNELS.batchNorm, ({ x, gamma, beta }, wasm, { epsilon, slope }) => {
    const [rows, channels] = rowsAndChannels(x!);
    const outputs = [wasm.makeOutput(x!.shape, "float32"), wasm.makeOutput([channels], "float32"), wasm.makeOutput([channels], "float32")];
    withViews(wasm, [x!, gamma!, beta!, ...outputs], (xs, g, b, y, mean, variance) => addon.batchNormForward(xs!, rows, channels, g!, b!, epsilon!, slope!, y!, mean!, variance!));
    return outputs;
  });
  register(TRAINING_KERNELS.batchNormGradient, ({ dy, x, gamma, beta, mean, variance }, wasm, { epsilon, slope }) => {
    const [rows, channels] = rowsAndChannels(x!);
    const outputs = [wasm.makeOutput(x!.shape, "float32"), wasm.makeOutput([channels], "float32"), wasm.makeOutput([channels], "float32")];
    withViews(wasm, [dy!, x!, gamma!, beta!, mean!, variance!, ...outputs], (d, xs, g, b, m, v, dx, dgamma, dbeta) =>
      addon.batchNormBackward(d!, xs!, rows, channels, g!, b!, m!, v!, epsilon!, slope!, dx!, dgamma!, dbeta!),
    );
    return outputs;
  });
  register("LeakyRelu", ({ x }, wasm, { alpha }) => {
    const y = wasm.makeOutput(x!.shape, "float32");
    withViews(wasm, [x!, y], (xs, ys) => addon.leakyRelu(xs!, xs!.length, alpha!, ys!));
    return y;
  });
  register(TRAINING_KERNELS.adam, ({ param, grad, m, v }, wasm, { beta1, beta2, eps, stepSize, bias2Sqrt }) => {
    const outputs = [param!, m!, v!].map((t) => wasm.makeOutput(t.shape, "float32"));
    withViews(wasm, [param!, grad!, m!, v!, ...outputs], (p, g, m0, v0, p1, m1, v1) =>
      addon.adam(p!, g!, m0!, v0!, p!.length, beta1!, beta2!, eps!, stepSize!, bias2Sqrt!, p1!, m1!, v1!),
    );
    return outputs;
  });
  register("Tanh", ({ x }, wasm) => {
    const y = wasm.makeOutput(x!.shape, "float32");
    withViews(wasm, [x!, y], (xs, ys) => addon.tanhForward(xs!, xs!.length, ys!));
    return y;
  });
  register(TRAINING_KERNELS.tanhGradient, ({ dy, y }, wasm) => {
    const dx = wasm.makeOutput(y!.shape, "float32");
    withViews(wasm, [dy!, y!, dx], (d, ys, out) => addon.tanhGradient(d!, ys!, ys!.length, out!));
    return dx;
  });
  register(TRAINING_KERNELS.runningStatistics, ({ runningMean, runningVariance, mean, variance }, wasm, { momentum, count }) => {
    const channels = mean!.shape[0]!;
    const outputs = [wasm.makeOutput([channels], "float32"), wasm.makeOutput([channels], "float32")];
    withViews(wasm, [runningMean!, runningVariance!, mean!, variance!, ...outputs], (rm, rv, m, v, newMean, newVariance) =>
      addon.runningStatistics(rm!, rv!, m!, v!, channels, momentum!, count!, newMean!, newVariance!),
    );
    return outputs;
  });
  register(TRAINING_KERNELS.leakyReluGradient, ({ dy, x }, wasm, { alpha }) => {
    const dx = wasm.makeOutput(x!.shape, "float32");
    withViews(wasm, [dy!, x!, dx], (d, xs, out) => addon.leakyReluGradient(d!, xs!, xs!.length, alpha!, out!));
    return dx;
  });
}
