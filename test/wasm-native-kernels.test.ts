import { expect, it } from "vitest";
import { probeBackend } from "../src/engine/backends/index.js";
import { ALL_CORES } from "../src/engine/backends/threads.js";
import { describeWasmTrainingKernels } from "./wasm-kernels.js";

/**
 * The native kernels run where the addon was built (g++, make and libdnnl-dev at install).
 * CI installs them and sets DCGAN_REQUIRE_NATIVE_KERNELS=1, so there a missing addon fails.
 */
const REQUIRE_NATIVE = process.env.DCGAN_REQUIRE_NATIVE_KERNELS === "1";

it("the wasm backend runs its training kernels natively, on oneDNN, where the addon was built", async () => {
  const wasm = await probeBackend("wasm");
  if (!REQUIRE_NATIVE && !wasm.threaded) return expect(wasm.detail).toMatch(/native kernels not built .*libdnnl-dev/);
  expect(wasm).toMatchObject({ available: true, threaded: true });
  expect(wasm.detail).toMatch(/native kernels: oneDNN \d+\.\d+/);
});

describeWasmTrainingKernels([...new Set([1, ALL_CORES, 3])]);
