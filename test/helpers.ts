import * as tf from "@tensorflow/tfjs-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { useBackend } from "../src/engine/backends/index.js";
import type { BackendChoice, TrainConfigInput } from "../src/engine/config.js";

/** A model small enough for the pure-JS cpu backend: a few ms per iteration. */
export const TINY_SHAPE = { imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4 } as const;

/** The tiny model on synthetic data, as the engine and the CLI take it. */
export const TINY: TrainConfigInput = { dataset: "synthetic", ...TINY_SHAPE, batchSize: 4, seed: 7 };

/** The tiny model as startRun's input (variables), on the cpu backend; the dataset is synthetic by default. */
export const TINY_RUN = { ...TINY_SHAPE, batchSize: 4, backend: "CPU" } as const;

/**
 * TINY_RUN with `fields` over it, as a GraphQL object literal: for queries written
 * inline. Strings in capitals are enum values, other strings are quoted.
 */
export function tinyRunLiteral(fields: Record<string, string | number> = {}): string {
  const literal = (value: string | number) => (typeof value === "number" || /^[A-Z][A-Z0-9_]*$/.test(value) ? String(value) : JSON.stringify(value));
  return `{ ${Object.entries({ ...TINY_RUN, ...fields }).map(([field, value]) => `${field}: ${literal(value)}`).join(", ")} }`;
}

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
