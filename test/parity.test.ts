import { describe, expect, it } from "vitest";
import { type BackendName, probeBackend } from "../src/engine/backends/index.js";
import { loadFixture, PARITY_TOLERANCE, runParity } from "../src/engine/parity.js";
import { onBackend, REQUIRE_WEBGPU } from "./helpers.js";

/*
 * The fixtures were written by this repository's PyTorch reference (Debian's python3-torch 1.13);
 * each records its command line under config.command_line:
 *   /usr/bin/python3 reference/dcgan_reference.py fixture --image-size 16 --nc 1 \
 *     --nz 8 --ngf 8 --ndf 8 --batch 8 --iters 4 --fixed 16 --seed 1 --out test/fixtures/grey16.json
 *   /usr/bin/python3 reference/dcgan_reference.py fixture --image-size 32 --nc 3 \
 *     --nz 16 --ngf 8 --ndf 8 --batch 8 --iters 3 --fixed 16 --seed 2 --out test/fixtures/colour32.json
 */
const FIXTURES = ["grey16", "colour32"];

const webgpu = await probeBackend("webgpu");
const backends: BackendName[] = ["cpu", "wasm", ...(webgpu.available || REQUIRE_WEBGPU ? (["webgpu"] as const) : [])];

describe.each(backends)("parity with PyTorch on %s", (backend) => {
  it.each(FIXTURES)("%s: every metric and every final tensor within 1e-3 relative", async (name) => {
    await onBackend(backend);
    const report = await runParity(await loadFixture(`test/fixtures/${name}.json`));
    expect(report.backend).toBe(backend);
    expect(Object.keys(report.metrics).sort()).toEqual(["D_G_z1", "D_G_z2", "D_x", "Loss_D", "Loss_G", "errD_fake", "errD_real"]);
    // every parameter and BatchNorm buffer of both networks, and the fixed-noise samples
    expect(Object.keys(report.tensors)).toContain("G.main.1.running_var");
    expect(Object.keys(report.tensors)).toContain("D.main.0.weight");
    expect(Object.keys(report.tensors)).toContain("fixed_samples");
    expect(report.maxMetricError).toBeLessThan(PARITY_TOLERANCE);
    expect(report.maxTensorError).toBeLessThan(PARITY_TOLERANCE);
    expect(report.pass).toBe(true);
  });
});

describe("parity checking", () => {
  it("fails when the reference disagrees", async () => {
    await onBackend("cpu");
    const fixture = await loadFixture("test/fixtures/grey16.json");
    fixture.iterations[1]!.metrics.Loss_G! *= 1.01;
    const report = await runParity(fixture);
    expect(report.metrics.Loss_G).toBeGreaterThan(0.009);
    expect(report.pass).toBe(false);
  });
});
