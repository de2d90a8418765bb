import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import { recordNativeCalls } from "../src/bench/native-replay.js";
import { CONFIGS, trainingLoop } from "../src/bench/throughput.js";
import { probeBackend, useBackend } from "../src/engine/backends/index.js";
import { TRAINING_KERNELS } from "../src/engine/training-ops.js";

/** CI builds the addon and sets this, so there a missing addon fails (test/wasm-native-kernels.test.ts). */
const REQUIRE_NATIVE = process.env.DCGAN_REQUIRE_NATIVE_KERNELS === "1";

/** The wasm kernels the addon runs (src/engine/backends/native/): each is one native call. */
const NATIVE_KERNELS = new Set<string>(["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "LeakyRelu", "Tanh", ...Object.values(TRAINING_KERNELS)]);

it("records every native call of a training iteration for the bench's replay, which runs them again", async () => {
  const wasm = await probeBackend("wasm");
  if (!REQUIRE_NATIVE && !wasm.threaded) return expect(wasm.detail).toMatch(/native kernels not built/);
  await useBackend("wasm");
  const loop = trainingLoop(CONFIGS[0]!);
  try {
    const profile = await tf.profile(() => loop.iterate());
    const nativeKernels = profile.kernels.filter((k) => NATIVE_KERNELS.has(k.name)).length;
    const replay = await recordNativeCalls(() => loop.iterate());
    // (b): 41 convolution passes, 9 BatchNorms each way and their running statistics, 18 Adam steps, ...
    expect(nativeKernels).toBeGreaterThan(90);
    expect(replay!.calls).toBe(nativeKernels);
    expect(replay!.run(1)).toBeGreaterThan(0);
  } finally {
    loop.dispose();
  }
});
