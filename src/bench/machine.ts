/**
 * The machine the bench runs on: the CPU's model and vector flags, the cores this
 * process may use, the fp32 peak they could reach, against which each backend's
 * GFLOP/s is put, and their memory bandwidth.
 *
 * The peak is cores x clock x FLOPs per cycle per core, where FLOPs per cycle come from
 * the widest fused multiply-add the CPU has (an FMA counts 2 FLOPs per lane):
 * - AVX-512 (avx512f): 2 FMA units x 16 lanes x 2 = 64, except AMD Zen 4, which runs
 *   512-bit instructions on 256-bit units: 32;
 * - AVX2 with FMA (avx2, fma): 2 FMA units x 8 lanes x 2 = 32 (Intel since Haswell,
 *   AMD since Zen 2);
 * - AVX without FMA: one 8-lane add and one 8-lane multiply per cycle = 16;
 * - SSE2 only: 4 + 4 = 8.
 * The clock is the highest the kernel reports: cpufreq's maximum when the machine has
 * cpufreq, else /proc/cpuinfo's "cpu MHz" (under a hypervisor without cpufreq, the
 * nominal clock the host announces). Turbo can exceed it, and sustained AVX may not
 * reach it. So where the native kernels' addon is built, the peak is measured instead:
 * every thread runs twelve independent 256-bit FMA chains for half a second (more
 * chains than the FMA units' latency hides), and the FLOPs done per second are the
 * peak; the computed one is printed beside it. The memory bandwidth is measured there
 * too (STREAM's triad on every thread): what memory-bound work (BatchNorm, activations,
 * Adam) can gain from more cores is bounded by it, not by the FMA units.
 */
import { readFileSync } from "node:fs";
import { loadAddon, type NativeKernels } from "../engine/backends/native/addon.js";
import { percentile } from "./stats.js";
import { ALL_CORES, threadCount, threadsLabel } from "../engine/backends/threads.js";

export interface Machine {
  /** "AMD EPYC 7B13" and the like, from /proc/cpuinfo. */
  model: string;
  vendor: string;
  family: number | null;
  /** The flags that decide the peak, among avx512f, avx2, fma, avx. */
  vectorFlags: string[];
  /** Logical CPUs this process may use (os.availableParallelism(): its affinity). */
  cpus: number;
  /** Hardware threads per physical core (2 with SMT): siblings / cpu cores. */
  threadsPerCore: number;
  clockMHz: number;
  clockSource: string;
  flopsPerCycle: number;
  /** How flopsPerCycle was decided, in words. */
  flopsPerCycleReason: string;
  /** Measured FMA throughput in GFLOP/s, by number of threads; empty without the addon or AVX2. */
  measuredPeak: Map<number, number>;
  /** Measured memory bandwidth in GB/s (STREAM's triad), by number of threads; empty without the addon. */
  measuredBandwidth: Map<number, number>;
}

const PEAK_SECONDS = 0.5;

/** Runs one of the addon's measurements on `threads` threads; null without the addon, or where it measured nothing (no AVX2 + FMA). */
export function onThreads(threads: number, measure: (addon: NativeKernels) => number): number | null {
  const loaded = loadAddon();
  if (!loaded.loaded) return null;
  loaded.addon.setThreads(threads);
  const value = measure(loaded.addon);
  // Back to the setting the kernels were told of.
  loaded.addon.setThreads(threadCount());
  return value > 0 ? value : null;
}

/** The fp32 FMA throughput of `threads` threads for about `seconds`, in GFLOP/s. */
export function measureFmaPeak(threads: number, seconds: number): number | null {
  return onThreads(threads, (addon) => addon.fmaPeakGflops(seconds));
}

/** The memory bandwidth of `threads` threads for about `seconds` (STREAM's triad), in GB/s. */
export function measureBandwidth(threads: number, seconds: number): number | null {
  return onThreads(threads, (addon) => addon.triadGBps(seconds));
}

/** Input and output channels and size of one convolution with a 4x4 filter, stride 2 and padding 1 (each of D's but its last). */
export interface ConvolutionShape {
  batch: number;
  inChannels: number;
  outChannels: number;
  size: number;
}

const probeBuffers = new Map<string, Float32Array[]>();

/**
 * GFLOP/s of the native kernels' forward convolution of `shape` on `threads` threads,
 * on its own: the median of `repeats` calls after one more, its data in the caches.
 */
export function measureConvolution(threads: number, shape: ConvolutionShape, repeats: number): number | null {
  const { batch, inChannels, outChannels, size } = shape;
  const half = size / 2;
  const geometry = [batch, inChannels, size, size, outChannels, half, half, 4, 4, 2, 2, 1, 1, 1, 1];
  const key = geometry.join();
  if (!probeBuffers.has(key)) {
    probeBuffers.set(key, [batch * size * size * inChannels, 16 * inChannels * outChannels, batch * half * half * outChannels].map((n) => new Float32Array(n).fill(0.01)));
  }
  const [image, filter, output] = probeBuffers.get(key)!;
  return onThreads(threads, (addon) => {
    const seconds: number[] = [];
    for (let i = 0; i <= repeats; i++) {
      const start = performance.now();
      addon.convolution(0, geometry, image!, filter!, output!);
      if (i > 0) seconds.push((performance.now() - start) / 1000);
    }
    return (2 * batch * half * half * outChannels * inChannels * 16) / percentile(seconds, 50) / 1e9;
  });
}

/** A measurement on each number of threads, where it could be made. */
function measureEach(threadCounts: number[], measure: (threads: number) => number | null): Map<number, number> {
  const values = new Map<number, number>();
  for (const threads of threadCounts) {
    const value = measure(threads);
    if (value !== null) values.set(threads, value);
  }
  return values;
}

function cpuinfoField(text: string, name: string): string | undefined {
  return new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export function describeMachine(): Machine {
  const cpuinfo = readOrEmpty("/proc/cpuinfo");
  const flags = new Set((cpuinfoField(cpuinfo, "flags") ?? "").split(/\s+/));
  const vendor = cpuinfoField(cpuinfo, "vendor_id") ?? "unknown vendor";
  const familyText = cpuinfoField(cpuinfo, "cpu family");
  const family = familyText === undefined ? null : Number(familyText);
  const siblings = Number(cpuinfoField(cpuinfo, "siblings") ?? 1);
  const coresPerSocket = Number(cpuinfoField(cpuinfo, "cpu cores") ?? 1);
  const threadsPerCore = Math.max(1, Math.round(siblings / Math.max(1, coresPerSocket)));

  const maxKHz = Number(readOrEmpty("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").trim());
  const cpuinfoMHz = Number(cpuinfoField(cpuinfo, "cpu MHz") ?? NaN);
  const [clockMHz, clockSource] =
    maxKHz > 0
      ? [maxKHz / 1000, "cpufreq's cpuinfo_max_freq"]
      : Number.isFinite(cpuinfoMHz)
        ? [cpuinfoMHz, '/proc/cpuinfo "cpu MHz" (no cpufreq here: the clock the hypervisor or firmware announces)']
        : [NaN, "unknown"];

  let flopsPerCycle: number;
  let flopsPerCycleReason: string;
  if (flags.has("avx512f")) {
    const zen4 = vendor === "AuthenticAMD" && family === 25;
    flopsPerCycle = zen4 ? 32 : 64;
    flopsPerCycleReason = zen4
      ? "AVX-512 on AMD Zen 4 (512-bit FMAs on two 256-bit units): 2 x 8 lanes x 2"
      : "AVX-512 (avx512f), assuming 2 FMA units: 2 x 16 lanes x 2";
  } else if (flags.has("avx2") && flags.has("fma")) {
    flopsPerCycle = 32;
    flopsPerCycleReason = "AVX2 + FMA (avx2, fma; no avx512f): 2 FMA units x 8 fp32 lanes x 2";
  } else if (flags.has("avx")) {
    flopsPerCycle = 16;
    flopsPerCycleReason = "AVX without FMA: one 8-lane add + one 8-lane multiply";
  } else {
    flopsPerCycle = 8;
    flopsPerCycleReason = "SSE: one 4-lane add + one 4-lane multiply";
  }
  return {
    model: cpuinfoField(cpuinfo, "model name") ?? "unknown CPU",
    vendor,
    family,
    vectorFlags: ["avx512f", "avx2", "fma", "avx"].filter((f) => flags.has(f)),
    cpus: ALL_CORES,
    threadsPerCore,
    clockMHz,
    clockSource,
    flopsPerCycle,
    flopsPerCycleReason,
    measuredPeak: measureEach([...new Set([1, ALL_CORES])], (threads) => measureFmaPeak(threads, PEAK_SECONDS)),
    measuredBandwidth: measureEach([...new Set([1, ALL_CORES])], (threads) => measureBandwidth(threads, PEAK_SECONDS)),
  };
}

/** Physical cores that `threads` threads can keep busy (hardware threads of one core share its FMA units). */
export function coresFor(machine: Machine, threads: number): number {
  return Math.max(1, Math.min(threads, Math.floor(machine.cpus / machine.threadsPerCore)));
}

/** fp32 GFLOP/s that `threads` threads could reach at most, from the clock and the vector flags. */
export function computedPeakGflops(machine: Machine, threads: number): number {
  return (coresFor(machine, threads) * machine.clockMHz * machine.flopsPerCycle) / 1000;
}

/** fp32 GFLOP/s that `threads` threads could reach at most: measured where it could be. */
export function peakGflops(machine: Machine, threads: number): number {
  return machine.measuredPeak.get(threads) ?? computedPeakGflops(machine, threads);
}

export function machineLines(machine: Machine): string[] {
  const all = machine.cpus;
  const measured = [...machine.measuredPeak].map(([threads, gflops]) => `${gflops.toFixed(1)} GFLOP/s on ${threadsLabel(threads)}`);
  const bandwidth = [...machine.measuredBandwidth].map(([threads, gbps]) => `${gbps.toFixed(1)} GB/s on ${threadsLabel(threads)}`);
  return [
    `CPU: ${machine.model} (${machine.vendor}, family ${machine.family ?? "?"}), ${all} logical CPUs for this process (os.availableParallelism()), ` +
      `${machine.threadsPerCore} per core; vector flags: ${machine.vectorFlags.join(" ") || "none of avx512f avx2 fma avx"}`,
    `fp32 peak computed = cores x clock x FLOPs/cycle = ${coresFor(machine, all)} x ${machine.clockMHz.toFixed(0)} MHz x ${machine.flopsPerCycle} = ` +
      `${computedPeakGflops(machine, all).toFixed(1)} GFLOP/s (${computedPeakGflops(machine, 1).toFixed(1)} per core); clock from ${machine.clockSource}; ` +
      `${machine.flopsPerCycle} FLOP/cycle from ${machine.flopsPerCycleReason}`,
    measured.length
      ? `fp32 peak measured (12 independent 256-bit FMA chains per thread, ${PEAK_SECONDS} s): ${measured.join(", ")}; the % of peak below is of this`
      : "fp32 peak not measured (needs the native kernels' addon and AVX2 + FMA); the % of peak below is of the computed one",
    ...(bandwidth.length ? [`memory bandwidth measured (STREAM's triad over 3 x 32 MiB, ${PEAK_SECONDS} s): ${bandwidth.join(", ")}`] : []),
  ];
}
