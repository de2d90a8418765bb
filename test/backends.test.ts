import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it, vi } from "vitest";
import { BACKEND_ORDER, backendReport, useBackend } from "../src/engine/backends/index.js";
import { REQUIRE_WEBGPU } from "./helpers.js";

describe("backend report", () => {
  it("lists every backend in auto's order with availability and a reason", async () => {
    const report = await backendReport();
    expect(report.map((r) => r.name)).toEqual([...BACKEND_ORDER]);
    for (const r of report) expect(r.detail.length).toBeGreaterThan(0);
    expect(report.find((r) => r.name === "cpu")!.available).toBe(true);
    expect(report.find((r) => r.name === "wasm")!.available).toBe(true);
  });

  it("explains why tfjs-node is unavailable where its libtensorflow download failed", async () => {
    const tensorflow = (await backendReport()).find((r) => r.name === "tensorflow")!;
    // Neither optional package installs here; a machine where one does reports its name.
    if (!tensorflow.available) expect(tensorflow.detail).toMatch(/tfjs-node-gpu (not installed|.*not found|failed to load)/);
    else expect(tensorflow.detail).toMatch(/@tensorflow\/tfjs-node/);
  });

  it.runIf(REQUIRE_WEBGPU)("finds the WebGPU adapter CI provides (Mesa lavapipe)", async () => {
    const webgpu = (await backendReport()).find((r) => r.name === "webgpu")!;
    expect(webgpu).toMatchObject({ available: true });
  });

  it("auto picks the first available backend and skips software GPU adapters", async () => {
    const report = await backendReport();
    const { chosen, skipped } = await useBackend("auto");
    const expected = report.find((r) => r.available && !(r.name === "webgpu" && /software adapter/.test(r.detail)));
    expect(chosen.name).toBe(expected!.name);
    expect(tf.getBackend()).toBe(chosen.name);
    expect(skipped.map((r) => r.name)).toEqual(BACKEND_ORDER.slice(0, BACKEND_ORDER.indexOf(chosen.name)));
  });

  it("rejects an unavailable backend with every reason", async () => {
    // Made unavailable on purpose, as a missing package would: the test means the same
    // on a machine where every backend works. A fresh copy of the module probes it.
    const reason = "made unavailable by the test";
    vi.resetModules();
    vi.doMock("../src/engine/backends/tensorflow.js", () => ({ loadTensorflow: () => Promise.reject(new Error(reason)) }));
    try {
      const backends = await import("../src/engine/backends/index.js");
      expect(await backends.probeBackend("tensorflow")).toMatchObject({ available: false, detail: reason });
      const refusal = backends.useBackend("tensorflow");
      await expect(refusal).rejects.toThrow(backends.BackendUnavailableError);
      await expect(refusal).rejects.toThrow(`backend tensorflow is not available: tensorflow: ${reason}`);
    } finally {
      vi.doUnmock("../src/engine/backends/tensorflow.js");
      vi.resetModules();
    }
  });
});
