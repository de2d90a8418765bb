/**
 * PyTorch's side of the throughput bench: this repository's reference
 * (reference/dcgan_reference.py bench) run by Debian's python3-torch, in the
 * environment that makes it fastest here.
 *
 * Some machines set OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE for old OpenBLAS builds on
 * processors they do not know. Those settings reach PyTorch's BLAS too, and may make it
 * slower, so a short probe times the reference with the environment as it is, with
 * both unset (OpenBLAS then picks its kernels itself), and with each OpenBLAS core
 * type this CPU can run, and every PyTorch row uses the fastest. Only the PyTorch
 * processes get that environment; the bench's own process keeps its own.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Machine } from "./machine.js";

export const REFERENCE = process.env.DCGAN_REFERENCE ?? fileURLToPath(new URL("../../reference/dcgan_reference.py", import.meta.url));
export const PYTHON = process.env.DCGAN_PYTHON ?? "/usr/bin/python3";

/** What the reference trains: the bench's configurations carry these fields. */
export interface TorchModel {
  imageSize: number;
  channels: number;
  nz: number;
  ngf: number;
  ndf: number;
  batchSize: number;
}

/** What `dcgan_reference.py info` prints: torch's BLAS and oneDNN. */
export interface TorchInfo {
  torch: string;
  cpu_capability: string | null;
  parallel_backend: string | null;
  blas: {
    build: string | null;
    libraries: string[];
    openblas?: {
      library: string;
      config: string;
      core: string;
      threads: number;
      OPENBLAS_CORETYPE: string | null;
      OPENBLAS_L2_SIZE: string | null;
    };
  };
  onednn: { built: boolean; version: string | null; available: boolean; enabled: boolean };
}

/** The JSON line of `dcgan_reference.py bench`: the timing and TorchInfo. */
export interface TorchRun extends TorchInfo {
  images_per_s: number;
  median_s_per_iter: number;
  threads: number;
}

export interface TorchEnvironment {
  name: string;
  env: NodeJS.ProcessEnv;
}

export interface ProbeResult {
  environment: string;
  /** The best of the probe's rounds; null when the reference failed in this environment. */
  imagesPerSecond: number | null;
  /** The kernels OpenBLAS used (openblas_get_corename()), or why the run failed. */
  detail: string;
}

export interface TorchProbe {
  chosen: TorchEnvironment;
  /** In words: which environment, measured how. */
  summary: string;
  results: ProbeResult[];
}

export function referenceMissing(): string | null {
  if (!existsSync(REFERENCE)) return `no reference script at ${REFERENCE}`;
  if (!existsSync(PYTHON)) return `no ${PYTHON}: apt-get install python3-torch`;
  return null;
}

async function runReference(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await promisify(execFile)(PYTHON, [REFERENCE, ...args], { env, timeout: 15 * 60_000, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; signal?: string };
    const last = e.stderr?.trim().split("\n").pop();
    throw new Error(e.signal ? `killed by ${e.signal}` : (last ?? e.message.split("\n")[0]!));
  }
}

/** Runs `bench` once; throws with the reference's own message when it fails. */
export async function runTorch(model: TorchModel, threads: number, iterations: number, env: NodeJS.ProcessEnv, warmup = 2): Promise<TorchRun> {
  const args = [
    "bench", "--image-size", String(model.imageSize), "--nc", String(model.channels),
    "--nz", String(model.nz), "--ngf", String(model.ngf), "--ndf", String(model.ndf),
    "--batch", String(model.batchSize), "--threads", String(threads), "--iters", String(iterations),
    "--warmup", String(warmup),
  ];
  const stdout = await runReference(args, env);
  return JSON.parse(stdout.trim().split("\n").pop()!) as TorchRun;
}

export async function torchInfo(env: NodeJS.ProcessEnv): Promise<TorchInfo> {
  return JSON.parse(await runReference(["info"], env)) as TorchInfo;
}

/** The environment as it is, without the two OpenBLAS overrides, and with each core type this CPU runs. */
export function torchEnvironments(machine: Machine): TorchEnvironment[] {
  const current = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"].filter((k) => process.env[k] !== undefined);
  const unset = { ...process.env };
  delete unset.OPENBLAS_CORETYPE;
  delete unset.OPENBLAS_L2_SIZE;
  const environments: TorchEnvironment[] = [
    { name: `as is (${current.length ? current.map((k) => `${k}=${process.env[k]}`).join(" ") : "no OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE"})`, env: process.env },
  ];
  if (current.length) environments.push({ name: "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset", env: unset });
  const flags = new Set(machine.vectorFlags);
  // Only kernels the CPU can execute: a core type beyond its flags dies of SIGILL.
  const coreTypes = [
    ...(flags.has("avx2") && flags.has("fma") ? ["Haswell"] : []),
    ...(flags.has("avx2") && machine.vendor === "AuthenticAMD" ? ["Zen"] : []),
    ...(flags.has("avx512f") ? ["SkylakeX"] : []),
  ];
  for (const core of coreTypes) {
    if (core !== process.env.OPENBLAS_CORETYPE) environments.push({ name: `OPENBLAS_CORETYPE=${core}`, env: { ...unset, OPENBLAS_CORETYPE: core } });
  }
  return environments;
}

/**
 * Times a few iterations of `model` on one thread in every candidate environment,
 * `rounds` times in turn (so that a burst of other load hits each alike), and keeps the
 * fastest. One thread: the kernels OpenBLAS picks are a property of a core, and one
 * thread is the least disturbed by whatever else the machine runs. Environments in
 * which OpenBLAS ends up with the same kernels and the same L2 size as an earlier one
 * (OPENBLAS_CORETYPE=Zen where it detects Zen itself) are the same, and timed once.
 */
export async function probeTorchEnvironment(machine: Machine, model: TorchModel, rounds = 3): Promise<TorchProbe> {
  const environments: TorchEnvironment[] = [];
  const skipped: ProbeResult[] = [];
  const seen = new Map<string, string>();
  for (const environment of torchEnvironments(machine)) {
    try {
      const openblas = (await torchInfo(environment.env)).blas.openblas;
      const key = openblas ? `${openblas.core} L2 ${openblas.OPENBLAS_L2_SIZE ?? "detected"}` : "no OpenBLAS";
      const same = seen.get(key);
      if (same) {
        skipped.push({ environment: environment.name, imagesPerSecond: null, detail: `the same as ${same} (${key}): not timed` });
        continue;
      }
      seen.set(key, environment.name);
      environments.push(environment);
    } catch (err) {
      skipped.push({ environment: environment.name, imagesPerSecond: null, detail: `failed: ${(err as Error).message}` });
    }
  }
  if (!environments.length) throw new Error(`PyTorch fails in every environment: ${skipped.map((s) => s.detail).join("; ")}`);
  const best = new Map<string, ProbeResult>(environments.map((e) => [e.name, { environment: e.name, imagesPerSecond: null, detail: "not run" }]));
  for (let round = 0; round < rounds; round++) {
    for (const environment of environments) {
      const result = best.get(environment.name)!;
      try {
        const run = await runTorch(model, 1, 5, environment.env);
        if (result.imagesPerSecond === null || run.images_per_s > result.imagesPerSecond) {
          result.imagesPerSecond = run.images_per_s;
          result.detail = run.blas.openblas ? `OpenBLAS core ${run.blas.openblas.core}` : `BLAS ${run.blas.build ?? "?"}`;
        }
      } catch (err) {
        if (result.imagesPerSecond === null) result.detail = `failed: ${(err as Error).message}`;
      }
    }
  }
  const results = [...best.values(), ...skipped];
  const fastest = results.reduce((a, b) => ((b.imagesPerSecond ?? -1) > (a.imagesPerSecond ?? -1) ? b : a));
  const chosen = environments.find((e) => e.name === fastest.environment)!;
  const measured = results.map((r) => `${r.environment}: ${r.imagesPerSecond === null ? r.detail : `${r.imagesPerSecond.toFixed(1)} img/s, ${r.detail}`}`);
  return {
    chosen,
    summary: `${chosen.name}, the fastest of a probe (1 thread, 5 iterations, best of ${rounds} rounds): ${measured.join("; ")}`,
    results,
  };
}

/** torch's version, BLAS and oneDNN, in one line. */
export function describeTorch(run: TorchRun): string {
  const ob = run.blas.openblas;
  const blas = ob
    ? `${ob.config}; kernels for ${ob.core} (openblas_get_corename), ${ob.library}`
    : // Debian's python3-torch links the BLAS of the libblas.so.3 alternative: the reference one unless OpenBLAS is installed.
      `${run.blas.build ?? "unknown"} (${run.blas.libraries.join(", ") || "no BLAS library found"}): not PyTorch at its best, apt-get install libopenblas0-pthread`;
  const onednn = run.onednn.built
    ? `oneDNN ${run.onednn.version ?? "?"} built in, ${run.onednn.available ? "available" : "not available"} and ${run.onednn.enabled ? "enabled" : "disabled"} (torch.backends.mkldnn)`
    : "no oneDNN";
  return `torch ${run.torch} (CPU capability ${run.cpu_capability ?? "?"}, ${run.parallel_backend ?? "?"} threads); BLAS: ${blas}; ${onednn}`;
}
