import { availableParallelism } from "node:os";

/** Every core the process may use (its CPU affinity, not the machine's total). */
export const ALL_CORES = availableParallelism();

let threads = ALL_CORES;

/** The number of threads the CPU kernels of this process use from now on. */
export function setThreads(count: number): void {
  threads = count;
}

export function threadCount(): number {
  return threads;
}

/** "1 thread", "2 threads". */
export function threadsLabel(count: number): string {
  return `${count} thread${count === 1 ? "" : "s"}`;
}
