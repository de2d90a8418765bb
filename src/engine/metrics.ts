import type { StepMetrics } from "./gan.js";

/** One training iteration as the engine reports it. */
export interface IterationMetrics extends StepMetrics {
  /** Iterations completed, counting this one (1-based). */
  iteration: number;
  /** 0-based epoch and batch within it, as the tutorial prints them. */
  epoch: number;
  batch: number;
  /** Throughput of this iteration alone. */
  imagesPerSecond: number;
  /** When the iteration finished, ms since the Unix epoch. */
  timestamp: number;
}

/** Column order of metrics files (CSV), shared by the CLI and any export. */
export const METRIC_COLUMNS = [
  "iteration",
  "epoch",
  "batch",
  "lossD",
  "lossG",
  "dX",
  "dGz1",
  "dGz2",
  "errDReal",
  "errDFake",
  "imagesPerSecond",
  "timestamp",
] as const satisfies readonly (keyof IterationMetrics)[];

export function metricsCsvHeader(): string {
  return `${METRIC_COLUMNS.join(",")}\n`;
}

export function metricsCsvRow(m: IterationMetrics): string {
  return `${METRIC_COLUMNS.map((c) => m[c]).join(",")}\n`;
}

/** The tutorial's log line: [epoch/epochs][batch/batches] Loss_D ... D(G(z)): z1 / z2. */
export function formatLogLine(m: IterationMetrics, epochs: number, batchesPerEpoch: number): string {
  const f = (v: number) => v.toFixed(4);
  return (
    `[${m.epoch}/${epochs}][${m.batch}/${batchesPerEpoch}]\tLoss_D: ${f(m.lossD)}\tLoss_G: ${f(m.lossG)}\t` +
    `D(x): ${f(m.dX)}\tD(G(z)): ${f(m.dGz1)} / ${f(m.dGz2)}`
  );
}
