/** The run the benchmarks train through the service and the CLI: config (b) on wasm. */
export interface BenchRun {
  iterations: number;
  /** The same every N iterations for samples and checkpoints. */
  writeEvery: number;
  dataset: "FASHION_MNIST" | "SYNTHETIC";
  /** The CPU threads of its native kernels: the same through the service and the CLI. */
  threads: number;
}

export const RUN_SHAPE = { imageSize: 32, channels: 1, ngf: 32, ndf: 32, batchSize: 64 } as const;

/**
 * Images/s over wall-clock time between iteration timestamps: unlike each iteration's own
 * figure, it counts everything between iterations (writes, reporting, event-loop turns).
 * The first iterations are left out: kernels compile and memory is allocated.
 */
export function wallImagesPerSecond(timestamps: number[], batchSize: number, warmup = 3): number {
  const timed = timestamps.slice(warmup);
  return ((timed.length - 1) * batchSize * 1000) / (timed.at(-1)! - timed[0]!);
}
