import type { Command } from "commander";
import { useBackend } from "../engine/backends/index.js";
import { BACKEND_CHOICES, type BackendChoice } from "../engine/config.js";
import { generateFromCheckpoint } from "../engine/generate.js";
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
        const { count, iteration } = await generateFromCheckpoint(checkpointPath, opts);
        process.stdout.write(`wrote ${opts.out}: ${count} images from iteration ${iteration}\n`);
      }),
    );
}
