import { expect, it } from "vitest";
import { probeBackend } from "../src/engine/backends/index.js";
import { describeWasmTrainingKernels } from "./wasm-kernels.js";

// Before the backend loads: this file tests the kernels that run where the addon is missing.
process.env.DCGAN_NATIVE_KERNELS = "0";

it("without the native kernels the wasm backend runs its own, on one thread, and says why", async () => {
  const wasm = await probeBackend("wasm");
  expect(wasm).toMatchObject({ available: true, threaded: false });
  expect(wasm.detail).toMatch(/one thread .*native kernels off \(DCGAN_NATIVE_KERNELS=0\)/);
});

describeWasmTrainingKernels([1]);
