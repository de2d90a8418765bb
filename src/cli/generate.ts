import * as tf from "@tensorflow/tfjs-core";
import type { Command } from "commander";
import { useBackend } from "../engine/backends/index.js";
import { loadCheckpoint, restoreGan } from "../engine/checkpoint.js";
import { BACKEND_CHOICES, type BackendChoice } from "../engine/config.js";
import { Rng } from "../engine/rng.js";
import { writeGridPng } from "../engine/samples.js";
import { integerFrom } from "./args.js";
import type { RunAction } from "./errors.js";

interface GenerateOptions {
  count: number;
  seed: number;
  out: string;
  inference?: boolean;
  backend: BackendChoice;
}

export function addGenerateCommand(program: Command, run: RunAction): void {
  program
    .command("generate <checkpoint>")
    .description("render new images from a checkpoint's generator as a grid PNG (8 per row, like make_grid)")
    .option("--count <n>", "how many images", integerFrom(1, 4096), 64)
    .option("--seed <n>", "seed of the noise", integerFrom(0, 2 ** 31 - 1), 1)
    .option("--out <file>", "PNG to write", "grid.png")
    .option("--inference", "normalise with BatchNorm's running statistics instead of the batch's (tutorial style)")
    .option("--backend <name>", `one of ${BACKEND_CHOICES.join(", ")}`, "auto")
    .action(
      run(async (checkpointPath: string, opts: GenerateOptions) => {
        await useBackend(opts.backend);
        const checkpoint = await loadCheckpoint(checkpointPath);
        const { nz, imageSize, channels } = checkpoint.config;
        const gan = restoreGan(checkpoint);
        const noise = tf.tensor2d(Rng.stream(opts.seed, "generate").normal(opts.count * nz), [opts.count, nz]);
        const data = await gan.generate(noise, opts.inference);
        noise.dispose();
        gan.dispose();
        await writeGridPng(opts.out, { data, count: opts.count, size: imageSize, channels });
        process.stdout.write(`wrote ${opts.out}: ${opts.count} images from iteration ${checkpoint.iteration}\n`);
      }),
    );
}
