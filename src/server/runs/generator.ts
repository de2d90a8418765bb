import { join, relative, resolve } from "node:path";
import type { Logger } from "pino";
import type { TrainConfig } from "../../engine/config.js";
import { estimateGenerationBytes } from "../../engine/memory.js";
import { InputError } from "../input-error.js";
import type { ServiceLimits } from "../settings.js";
import type { Store } from "../store/store.js";
import { NotFoundError, type SampleRecord } from "../store/types.js";
import { GenerateProcessError, generateInProcess } from "../training/generate-process.js";
import { holdCheckpoint } from "./retention.js";
import { runDir } from "./run-execution.js";

export interface GeneratorOptions {
  store: Store;
  dataDir: string;
  limits: Pick<ServiceLimits, "memoryBudgetMb" | "maxConcurrentGenerates">;
  logger: Logger;
}

/** A render that failed for a reason not the client's (a crash, a full disk), in words. */
export class GenerateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GenerateError";
  }
}

/**
 * `generate`: renders images from a checkpoint's generator, each request in a process of
 * its own (training/generate-process.ts), at most MAX_CONCURRENT_GENERATES at once, each
 * within MEMORY_BUDGET_MB, and records the grid as a GENERATED sample.
 */
export class Generator {
  /** Requests rendering now. */
  private rendering = 0;

  constructor(private readonly options: GeneratorOptions) {}

  async generate(checkpointId: string, count: number, seed: number): Promise<SampleRecord> {
    if (!Number.isInteger(count) || count < 1 || count > 1024) throw new InputError("count", "must be an integer from 1 to 1024");
    if (!Number.isInteger(seed) || seed < 0) throw new InputError("seed", "must be a non-negative integer");
    // Counted before anything is awaited, so that requests arriving together are counted together.
    const max = this.options.limits.maxConcurrentGenerates;
    if (this.rendering >= max) {
      throw new InputError("generate", `${max} generate requests are already rendering, the most MAX_CONCURRENT_GENERATES allows: try again when one has finished`);
    }
    this.rendering++;
    // Retention leaves the checkpoint alone while it is read (in this process: see retention.ts).
    const release = holdCheckpoint(checkpointId);
    try {
      const { store, dataDir, logger } = this.options;
      const checkpoint = await store.getCheckpoint(checkpointId);
      if (!checkpoint) throw new InputError("checkpointId", `no checkpoint ${checkpointId}`);
      const run = await store.getRun(checkpoint.runId);
      if (!run) throw new NotFoundError("run", checkpoint.runId);
      this.withinBudget(run.config, count);
      const file = join(runDir(dataDir, checkpoint.runId), "samples", `generated_${checkpoint.iteration}_${seed}_${count}_${Date.now()}.png`);
      const checkpointFile = resolve(dataDir, checkpoint.path);
      const grid = await generateInProcess({ checkpoint: checkpointFile, count, seed, out: file }, logger).catch((err: unknown) => {
        throw err instanceof GenerateProcessError ? this.inWords(err, checkpointId, checkpointFile) : err;
      });
      return await store.addSample({
        runId: checkpoint.runId,
        iteration: checkpoint.iteration,
        epoch: checkpoint.epoch,
        kind: "GENERATED",
        bytes: grid.bytes,
        path: relative(dataDir, grid.path),
        checkpointId,
      });
    } finally {
      release();
      this.rendering--;
    }
  }

  /**
   * A failed render as the client gets it: a checkpoint file that cannot be read is the
   * checkpoint's fault (BAD_USER_INPUT), anything else the server's (GENERATE_FAILED);
   * both say what happened, with paths relative to the data folder.
   */
  private inWords(err: GenerateProcessError, checkpointId: string, checkpointFile: string): Error {
    const { dataDir } = this.options;
    const message = err.message.replaceAll(`${checkpointFile}: `, "").replaceAll(checkpointFile, relative(dataDir, checkpointFile)).replaceAll(`${resolve(dataDir)}/`, "");
    if (err.errorName === "CheckpointError") return new InputError("checkpointId", `checkpoint ${checkpointId} cannot be used: ${message}`);
    return new GenerateError(`rendering from checkpoint ${checkpointId} failed: ${message}`);
  }

  /**
   * Refuses to render more images than the memory budget allows (BatchNorm normalises
   * over the whole batch, so they cannot be rendered in parts), saying how many fit.
   */
  private withinBudget(config: TrainConfig, count: number): void {
    const budget = this.options.limits.memoryBudgetMb * 2 ** 20;
    const bytes = (n: number) => estimateGenerationBytes({ ...config, channels: config.channels ?? 3 }, n);
    if (bytes(count) <= budget) return;
    // The estimate grows linearly with the count.
    const fit = Math.max(0, Math.floor((budget - bytes(0)) / (bytes(1) - bytes(0))));
    const mib = (n: number) => `${Math.ceil(n / 2 ** 20)} MiB`;
    throw new InputError(
      "count",
      `${count} images from this checkpoint need about ${mib(bytes(count))} of tensor memory, more than the server's budget of ` +
        `${mib(budget)} (MEMORY_BUDGET_MB): ${fit > 0 ? `at most ${fit} fit` : "not even one fits"}`,
    );
  }
}
