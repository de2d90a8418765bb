import * as tf from "@tensorflow/tfjs-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { useBackend } from "../src/engine/backends/index.js";
import type { BackendChoice, TrainConfigInput } from "../src/engine/config.js";

/** A model small enough for the pure-JS cpu backend: a few ms per iteration. */
export const TINY: TrainConfigInput = {
  dataset: "synthetic",
  imageSize: 16,
  channels: 1,
  nz: 8,
  ngf: 4,
  ndf: 4,
  batchSize: 4,
  seed: 7,
};

/** A temporary folder removed after the file's tests. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dcgan-test-"));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function onBackend(name: BackendChoice): Promise<void> {
  const { chosen } = await useBackend(name);
  if (tf.getBackend() !== chosen.name) throw new Error(`backend ${name} not active`);
}

/**
 * The webgpu tests run where a WebGPU adapter exists. CI sets DCGAN_REQUIRE_WEBGPU=1
 * (it installs Mesa's lavapipe), so there a missing adapter fails instead of skipping.
 */
export const REQUIRE_WEBGPU = process.env.DCGAN_REQUIRE_WEBGPU === "1";
