import { expect, it } from "vitest";
import { probeBackend } from "../src/engine/backends/index.js";
import { applyThreads, loadAddon } from "../src/engine/backends/native/addon.js";
import { ALL_CORES, setThreads } from "../src/engine/backends/threads.js";
import { computedPeakGflops, describeMachine, measureConvolution } from "../src/bench/machine.js";
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

/**
 * A turbo clock above the nominal one the hypervisor announces lets the measured peak pass
 * the computed one (3.5 / 2.45 GHz on this project's EPYC VMs), but not by more than this.
 */
const TURBO_ALLOWANCE = 1.6;

it("measures the FMA peak with chains that really are independent: no more FLOPs than a core's clock allows", async () => {
  const wasm = await probeBackend("wasm");
  if (!REQUIRE_NATIVE && !wasm.threaded) return expect(wasm.detail).toMatch(/native kernels not built/);
  const machine = describeMachine();
  const measured = machine.measuredPeak.get(1);
  // Twelve chains from one starting value once compiled into a single chain, counted
  // twelve times: 146 GFLOP/s "measured" on a core whose units allow 78 at 2.45 GHz.
  expect(measured).toBeGreaterThan(0);
  expect(measured!).toBeLessThan(TURBO_ALLOWANCE * computedPeakGflops(machine, 1));
});

it("measures a lone convolution's GFLOP/s with the FLOPs it does: some, and no more than the core's peak", async () => {
  const wasm = await probeBackend("wasm");
  if (!REQUIRE_NATIVE && !wasm.threaded) return expect(wasm.detail).toMatch(/native kernels not built/);
  const gflops = measureConvolution(1, { batch: 64, inChannels: 64, outChannels: 128, size: 8 }, 3);
  expect(gflops).toBeGreaterThan(0);
  expect(gflops!).toBeLessThan(TURBO_ALLOWANCE * computedPeakGflops(describeMachine(), 1));
});

describeWasmTrainingKernels([...new Set([1, ALL_CORES, 3])]);

/** A filter of 4 x 4 x 1 x 32 values, D's first layer's and G's last. */
const ONE_CHANNEL = [64, 1, 32, 32, 32, 16, 16, 4, 4, 2, 2, 1, 1, 1, 1];
/** 4 x 4 x 64 x 128 = 131,072 filter values. */
const WIDE = [64, 64, 8, 8, 128, 4, 4, 4, 4, 2, 2, 1, 1, 1, 1];
/** Below this many values a filter's reorder runs on one thread (native/src/threads.h), and an im2col convolution below this many FLOPs (convolutions.cc). */
const PARALLEL_ELEMENTS = 1 << 16;
const PARALLEL_GEMM_FLOPS = 100e6;

it("runs oneDNN's im2col convolutions and the reorders of small filters on one thread, where a second made them slower", async () => {
  const status = loadAddon();
  if (!REQUIRE_NATIVE && !status.loaded) return expect(status.why).toMatch(/native kernels/);
  if (!status.loaded) throw new Error(status.why);
  const addon = status.addon;
  setThreads(2);
  try {
    applyThreads(addon);
    for (const geometry of [ONE_CHANNEL, WIDE]) {
      const [n, ci, h, w, co, oh, ow, kh, kw] = geometry as [number, number, number, number, number, number, number, number, number];
      const image = new Float32Array(n * h * w * ci).fill(0.5);
      const output = new Float32Array(n * oh * ow * co).fill(0.25);
      const filter = new Float32Array(kh * kw * ci * co).fill(0.125);
      addon.convolution(0, geometry, image, filter, output);
      addon.convolution(1, geometry, output, filter, image);
      addon.convolution(2, geometry, image, output, filter);
    }
    // Every convolution run on two threads in this process, the other tests' included.
    const plans = addon.convolutionPlans().filter((p) => p.threads === 2);
    const of = (geometry: number[]) => plans.filter((p) => p.geometry.join() === geometry.join());
    expect([of(ONE_CHANNEL).length, of(WIDE).length]).toEqual([3, 3]);
    for (const plan of plans) {
      const [n, ci, , , co, oh, ow, kh, kw] = plan.geometry as number[];
      const alone = plan.implementation.includes("gemm") && 2 * n! * oh! * ow! * co! * ci! * kh! * kw! < PARALLEL_GEMM_FLOPS;
      expect(plan.kernelThreads, `${plan.implementation} ${plan.geometry}`).toBe(alone ? 1 : 2);
      expect(plan.reorderThreads).toBe(kh! * kw! * ci! * co! < PARALLEL_ELEMENTS ? 1 : plan.kernelThreads);
    }
    expect(of(ONE_CHANNEL).map((p) => p.reorderThreads)).toEqual([1, 1, 1]);
    // The wide layer's kernels are oneDNN's direct ones and use both threads.
    expect(of(WIDE).map((p) => [p.kernelThreads, p.reorderThreads])).toEqual([[2, 2], [2, 2], [2, 2]]);
  } finally {
    setThreads(ALL_CORES);
  }
});
