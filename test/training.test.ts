import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { CheckpointError, loadCheckpoint } from "../src/engine/checkpoint.js";
import { ConfigError, parseTrainConfig } from "../src/engine/config.js";
import type { IterationMetrics } from "../src/engine/metrics.js";
import { makeGrid } from "../src/engine/samples.js";
import { train, type TrainOptions } from "../src/engine/trainer.js";
import { onBackend, tempDir, TINY } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
  await onBackend("cpu");
});

async function run(name: string, config: object, options: Partial<TrainOptions> = {}) {
  const metrics: IterationMetrics[] = [];
  const result = await train(parseTrainConfig({ ...TINY, backend: "cpu", ...config }), {
    outDir: join(dir, name),
    onIteration: (m) => {
      metrics.push(m);
    },
    ...options,
  });
  return { result, metrics };
}

/** A folder with an MNIST-style IDX file of `count` 28x28 images. */
async function writeIdx(count: number): Promise<string> {
  const folder = join(dir, `idx-${count}`);
  await mkdir(folder, { recursive: true });
  const header = Buffer.alloc(16);
  header.writeUInt32BE(2051, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  const pixels = Buffer.alloc(count * 28 * 28).map((_, i) => (i * 7) % 256);
  await writeFile(join(folder, "train-images-idx3-ubyte"), Buffer.concat([header, pixels]));
  return folder;
}

/** Metrics without the wall-clock fields. */
const losses = (ms: IterationMetrics[]) =>
  ms.map(({ imagesPerSecond: _ips, timestamp: _t, ...rest }) => rest);

describe("training runs", () => {
  it("are deterministic: same seed, backend and data give identical metrics", async () => {
    const a = await run("det-a", { iterations: 6 });
    const b = await run("det-b", { iterations: 6 });
    expect(losses(a.metrics)).toEqual(losses(b.metrics));
    const c = await run("det-c", { iterations: 6, seed: 8 });
    expect(losses(c.metrics)).not.toEqual(losses(a.metrics));
  });

  it("are deterministic on wasm too", async () => {
    const a = await run("det-wasm-a", { iterations: 4, backend: "wasm" });
    const b = await run("det-wasm-b", { iterations: 4, backend: "wasm" });
    expect(losses(a.metrics)).toEqual(losses(b.metrics));
  });

  it("number iterations from 1 and walk epochs of full batches in a shuffled order", async () => {
    // 10 images in batches of 4: 2 full batches per epoch, the rest left out
    const { metrics, result } = await run("epochs", { dataset: "mnist", dataPath: await writeIdx(10), epochs: 2 });
    expect(metrics.map((m) => [m.iteration, m.epoch, m.batch])).toEqual([
      [1, 0, 0], [2, 0, 1], [3, 1, 0], [4, 1, 1],
    ]);
    expect(result).toMatchObject({ status: "completed", iteration: 4, epoch: 1 });
  });

  it("resume exactly: 2N iterations equal N, a checkpoint, then N more", async () => {
    const whole = await run("whole", { iterations: 8, checkpointEvery: 4 });
    const first = await run("first", { iterations: 4 });
    const checkpoint = await loadCheckpoint(first.result.lastCheckpoint!);
    expect(checkpoint.iteration).toBe(4);
    const rest = await run("first", { iterations: 8 }, { resume: checkpoint });
    expect(rest.metrics[0]!.iteration).toBe(5);
    expect(losses([...first.metrics, ...rest.metrics])).toEqual(losses(whole.metrics));
  });

  it("write samples every sampleEvery iterations and at the end, checkpoints likewise, plus a real grid", async () => {
    const samples: string[] = [];
    const checkpoints: number[] = [];
    await run("files", { iterations: 5, sampleEvery: 2, checkpointEvery: 3 }, {
      onSample: (s) => {
        samples.push(`${s.kind}@${s.iteration}`);
      },
      onCheckpoint: (c) => {
        checkpoints.push(c.iteration);
      },
    });
    expect(samples).toEqual(["real@0", "fixed-noise@2", "fixed-noise@4", "fixed-noise@5"]);
    expect(checkpoints).toEqual([3, 5]);
    expect((await readdir(join(dir, "files", "samples"))).sort()).toEqual([
      "fake_00000002.png", "fake_00000004.png", "fake_00000005.png", "real.png",
    ]);
    // 64 grey 16x16 images, 8 per row with 2 px padding: 8 * 18 + 2 on each side
    const meta = await sharp(join(dir, "files", "samples", "fake_00000005.png")).metadata();
    expect([meta.width, meta.height, meta.channels, meta.format]).toEqual([146, 146, 1, "png"]);
  });

  it("stop at an iteration boundary when aborted, with a checkpoint and a sample there", async () => {
    const controller = new AbortController();
    const written: string[] = [];
    const { result, metrics } = await run("stop", { iterations: 1000 }, {
      signal: controller.signal,
      onIteration: (m) => {
        if (m.iteration === 3) controller.abort();
      },
      onSample: (s) => {
        written.push(`${s.kind}@${s.iteration}`);
      },
      onCheckpoint: (c) => {
        written.push(`checkpoint@${c.iteration}`);
      },
    });
    expect(metrics).toHaveLength(0); // onIteration replaced by the test's own
    expect(result).toMatchObject({ status: "stopped", iteration: 3 });
    expect(written).toEqual(["real@0", "fixed-noise@3", "checkpoint@3"]);
  });

  it("refuses to resume with a different model", async () => {
    const first = await run("mismatch", { iterations: 1 });
    const checkpoint = await loadCheckpoint(first.result.lastCheckpoint!);
    await expect(run("mismatch", { iterations: 2, ngf: 8 }, { resume: checkpoint })).rejects.toThrow(ConfigError);
  });

  it("fork exactly: a fork with unchanged hyperparameters continues like its parent", async () => {
    const parent = await run("fork-parent", { iterations: 8, checkpointEvery: 4 });
    const checkpoint = await loadCheckpoint(join(dir, "fork-parent", "checkpoints", (await readdir(join(dir, "fork-parent", "checkpoints"))).sort()[0]!));
    expect(checkpoint.iteration).toBe(4);
    const child = await run("fork-child", { iterations: 8 }, { resume: checkpoint, fork: true });
    expect(child.metrics[0]!.iteration).toBe(5);
    expect(losses(child.metrics)).toEqual(losses(parent.metrics.slice(4)));
  });

  it("fork with a new lr, beta1 and batch size: Adam's state carries over, the new settings step from the fork on", async () => {
    const parent = await run("fork-lr-parent", { iterations: 4 });
    const checkpoint = await loadCheckpoint(parent.result.lastCheckpoint!);
    const same = await run("fork-lr-same", { iterations: 6 }, { resume: checkpoint, fork: true });
    const changed = await run("fork-lr", { iterations: 6, lr: 0.001, beta1: 0.9 }, { resume: checkpoint, fork: true });
    expect(changed.metrics.map((m) => m.iteration)).toEqual([5, 6]);
    // Iteration 5's losses are measured before its update: the same weights either way.
    expect(changed.metrics[0]!.lossD).toBe(same.metrics[0]!.lossD);
    expect(changed.metrics[1]!.lossD).not.toBe(same.metrics[1]!.lossD);
    const written = await loadCheckpoint(changed.result.lastCheckpoint!);
    expect(written.config).toMatchObject({ lr: 0.001, beta1: 0.9 });
    expect(written.optG.step).toBe(6);
    const bigger = await run("fork-batch", { iterations: 5, batchSize: 8 }, { resume: checkpoint, fork: true });
    expect(bigger.metrics.map((m) => m.iteration)).toEqual([5]);
    // A resume (not a fork) still refuses any change; a fork refuses a shape or the seed.
    await expect(run("fork-lr-resume", { iterations: 6, lr: 0.001 }, { resume: checkpoint })).rejects.toThrow(ConfigError);
    await expect(run("fork-shape", { iterations: 6, nz: 16 }, { resume: checkpoint, fork: true })).rejects.toThrow(/nz/);
    await expect(run("fork-seed", { iterations: 6, seed: 1 }, { resume: checkpoint, fork: true })).rejects.toThrow(/seed/);
  });
});

describe("checkpoints", () => {
  it("hold weights, BatchNorm statistics, both Adam states, RNG state and the fixed noise", async () => {
    const { result } = await run("ckpt", { iterations: 2 });
    const c = await loadCheckpoint(result.lastCheckpoint!);
    expect(c.iteration).toBe(2);
    expect(c.config).toMatchObject({ imageSize: 16, channels: 1, nz: 8, seed: 7 });
    expect([...c.G.keys()]).toContain("main.1.running_var");
    expect([...c.D.keys()]).toContain("main.3.running_mean");
    expect(c.optG.step).toBe(2);
    expect(c.optD.m.size).toBe([...c.D.keys()].filter((k) => !k.includes("running")).length);
    expect(c.fixedNoise).toHaveLength(64 * 8);
    expect(c.noiseRngState.length).toBeGreaterThan(0);
  });

  it("reject a file that is not a checkpoint, or is cut short, naming it", async () => {
    const bogus = join(dir, "bogus.dcgan");
    await writeFile(bogus, "hello");
    await expect(loadCheckpoint(bogus)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(bogus)).rejects.toThrow(bogus);
    const { result } = await run("cut", { iterations: 1 });
    const bytes = await readFile(result.lastCheckpoint!);
    const cut = join(dir, "cut.dcgan");
    await writeFile(cut, bytes.subarray(0, bytes.length - 100));
    await expect(loadCheckpoint(cut)).rejects.toThrow(/truncated/);
  });
});

describe("sample grids", () => {
  it("lay images out like torchvision's make_grid, min-max normalised, black padding", () => {
    // 10 images of 2x2 -> 8 per row, 2 rows
    const data = new Float32Array(10 * 4).map((_, i) => (i % 4 === 0 ? -0.5 : 0.5));
    const grid = makeGrid({ data, count: 10, size: 2, channels: 1 });
    expect([grid.width, grid.height]).toEqual([8 * 4 + 2, 2 * 4 + 2]);
    const at = (x: number, y: number) => grid.pixels[y * grid.width + x];
    expect(at(0, 0)).toBe(0); // padding
    expect(at(2, 2)).toBe(0); // the minimum maps to 0
    expect(at(3, 2)).toBe(255); // the maximum to 255
    expect(at(6, 2)).toBe(0); // second image starts after 2 px of padding
    expect(at(2, 6)).toBe(0); // second row
    expect(at(2 + 4 * 2, 6)).toBe(0); // no 11th image: padding colour
  });
});
