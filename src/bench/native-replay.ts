/**
 * What a second core gains once tfjs's JavaScript is out of the iteration: one
 * iteration's calls of the native kernels (convolutions, BatchNorm, activations, Adam),
 * recorded with the places in the wasm heap they read and write, replayed back to back
 * on a private copy of that heap, so each call finds its inputs where the calls before
 * it left them, as in training. That is what a training step written natively over the
 * same kernels would run, with no JavaScript between them.
 */
import { listenToNativeCalls, loadAddon, type NativeKernels } from "../engine/backends/native/addon.js";
import { onThreads } from "./machine.js";

/** Where a Float32Array argument lay in the wasm heap. */
class HeapSlice {
  constructor(
    readonly heap: ArrayBufferLike,
    readonly at: number,
    readonly length: number,
  ) {}
}

export interface NativeReplay {
  calls: number;
  /** Seconds to run the recorded calls once, back to back, on `threads` threads; null without the addon. */
  run(threads: number): number | null;
}

/** Iterations to record before giving up on one that the wasm heap did not grow during. */
const MAX_RECORDINGS = 5;

type Recorded = { name: keyof NativeKernels; args: unknown[] }[];

/** The native calls one run of `iteration` makes. */
async function record(iteration: () => Promise<unknown>): Promise<Recorded> {
  const recorded: Recorded = [];
  // The kernels are the calls that pass arrays of the heap; the rest configure or measure.
  listenToNativeCalls((name, args) => {
    if (args.some((a) => a instanceof Float32Array)) recorded.push({ name, args: args.map((a) => (a instanceof Float32Array ? new HeapSlice(a.buffer, a.byteOffset, a.length) : a)) });
  });
  try {
    await iteration();
  } finally {
    listenToNativeCalls(null);
  }
  return recorded;
}

function heapsOf(recorded: Recorded): ArrayBufferLike[] {
  return [...new Set(recorded.flatMap(({ args }) => args.flatMap((a) => (a instanceof HeapSlice ? [a.heap] : []))))];
}

/**
 * Records the native calls an iteration makes, running `iteration` again while the wasm
 * heap grows during it (the calls before the growth saw memory since replaced); null
 * without the addon.
 */
export async function recordNativeCalls(iteration: () => Promise<unknown>): Promise<NativeReplay | null> {
  const status = loadAddon();
  if (!status.loaded) return null;
  const { addon } = status;
  let recorded = await record(iteration);
  for (let attempt = 1; heapsOf(recorded).length > 1 && attempt < MAX_RECORDINGS; attempt++) recorded = await record(iteration);
  const heaps = heapsOf(recorded);
  if (heaps.length !== 1) throw new Error(`the wasm heap grew during each of ${MAX_RECORDINGS} iterations, or the calls used none`);
  // A copy: the replay writes where the wasm allocator may since keep data of its own.
  const heap = heaps[0]!.slice(0);
  const calls = recorded.map(({ name, args }) => ({
    run: (addon as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!,
    args: args.map((a) => (a instanceof HeapSlice ? new Float32Array(heap, a.at, a.length) : a)),
  }));
  return {
    calls: calls.length,
    run: (threads) =>
      onThreads(threads, () => {
        const start = performance.now();
        for (const { run, args } of calls) run(...args);
        return (performance.now() - start) / 1000;
      }),
  };
}
