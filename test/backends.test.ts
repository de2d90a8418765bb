import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { BACKEND_ORDER, backendReport, BackendUnavailableError, useBackend } from "../src/engine/backends/index.js";
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
    const report = await backendReport();
    const missing = report.find((r) => !r.available);
    if (!missing) return expect(report.every((r) => r.available)).toBe(true);
    await expect(useBackend(missing.name)).rejects.toThrow(BackendUnavailableError);
    await expect(useBackend(missing.name)).rejects.toThrow(missing.detail);
  });
});
