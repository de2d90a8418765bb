/**
 * The names of the files a training run writes under its output folder, in one place:
 * the trainer writes them, the server reads them back after a crash.
 */

/** Checkpoints' extension; files being written carry a temporary suffix after it. */
export const CHECKPOINT_EXTENSION = ".dcgan";
const REAL_SAMPLE = "real.png";
const FIXED_NOISE_SAMPLE = /^fake_(\d+)\.png$/;

/** Zero-padded so that file listings sort by iteration. */
function pad(iteration: number): string {
  return String(iteration).padStart(8, "0");
}

export function checkpointFileName(iteration: number): string {
  return `iter_${pad(iteration)}${CHECKPOINT_EXTENSION}`;
}

/** The grid of G's images of the fixed noise after `iteration`. */
export function fixedNoiseSampleFileName(iteration: number): string {
  return `fake_${pad(iteration)}.png`;
}

/** The grid of real training images, written once per run. */
export function realSampleFileName(): string {
  return REAL_SAMPLE;
}

/** What a sample file under samples/ shows, from its name; undefined for other files. */
export function parseSampleFileName(name: string): { kind: "real" | "fixed-noise"; iteration: number } | undefined {
  if (name === REAL_SAMPLE) return { kind: "real", iteration: 0 };
  const iteration = FIXED_NOISE_SAMPLE.exec(name)?.[1];
  return iteration === undefined ? undefined : { kind: "fixed-noise", iteration: Number(iteration) };
}
