import { ALL_CORES } from "../engine/backends/threads.js";
import type { Command } from "commander";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCheckpoint } from "../engine/checkpoint.js";
import {
  BACKEND_CHOICES,
  ConfigError,
  DATASET_KINDS,
  parseTrainConfig,
  type TrainConfigInput,
} from "../engine/config.js";
import { formatLogLine, metricsCsvHeader, metricsCsvRow } from "../engine/metrics.js";
import { type RunInfo, train } from "../engine/trainer.js";
import { integerFrom, number } from "./args.js";
import type { RunAction } from "./errors.js";
import { TrainOutput } from "./train-output.js";
import { onStopSignals } from "../process/stop-signals.js";

interface TrainFlags extends Omit<TrainConfigInput, "dataset"> {
  dataset?: string;
  out: string;
  resume?: string;
  logEvery: number;
  dryRun?: boolean;
}

/** Flags that may differ from a resumed checkpoint's config: the schedule and where things run. */
const RESUMABLE_OVERRIDES = ["iterations", "epochs", "sampleEvery", "checkpointEvery", "backend", "threads", "dataPath"] as const;

export function addTrainCommand(program: Command, run: RunAction): void {
  program
    .command("train")
    .description("train a DCGAN; writes samples/, checkpoints/ and metrics.csv under --out")
    .option("--dataset <kind>", `${DATASET_KINDS.join(" | ")} (default synthetic)`)
    .option("--data-path <path>", "folder of the IDX files or images (fashion-mnist: /usr/share/datasets/fashion-mnist)")
    .option("--image-size <n>", "16, 32, 64, 128, ... (default 64)", number)
    .option("--channels <n>", "image channels nc (default: the dataset's)", number)
    .option("--nz <n>", "latent vector size (default 100)", number)
    .option("--ngf <n>", "generator width (default 64)", number)
    .option("--ndf <n>", "discriminator width (default 64)", number)
    .option("--batch-size <n>", "batch size (default 128)", number)
    .option("--lr <rate>", "Adam learning rate (default 0.0002)", number)
    .option("--beta1 <b>", "Adam beta1 (default 0.5)", number)
    .option("--seed <n>", "random seed (default 999)", number)
    .option("--iterations <n>", "iterations to train (instead of --epochs)", number)
    .option("--epochs <n>", "passes over the data (default 5)", number)
    .option("--backend <name>", `${BACKEND_CHOICES.join(" | ")} (default auto)`)
    .option("--threads <n>", `CPU threads of the wasm backend's native kernels (default: all ${ALL_CORES} cores)`, number)
    .option("--sample-every <n>", "render the fixed-noise grid every N iterations (default 500)", number)
    .option("--checkpoint-every <n>", "write a checkpoint every N iterations (default 500)", number)
    .option("--resume <checkpoint>", "continue from a checkpoint, with its config and iteration numbering")
    .option("--out <dir>", "output folder", "out")
    .option("--log-every <n>", "print the tutorial's log line every N iterations", integerFrom(1, 1e9), 50)
    .option("--dry-run", "train one iteration only, as a smoke test")
    .action(
    run(async (flags: TrainFlags) => {
      // Hyperparameter flags have no commander defaults: present means given by the user.
      const { out, resume: resumePath, logEvery, dryRun, ...hyper } = flags;
      const resume = resumePath ? await loadCheckpoint(resumePath) : undefined;
      let input = hyper as TrainConfigInput;
      if (resume) {
        const fixed = (Object.keys(hyper) as (keyof typeof hyper)[])
          .filter((key) => !(RESUMABLE_OVERRIDES as readonly string[]).includes(key) && hyper[key] !== resume.config[key as keyof typeof resume.config])
          .map((field) => ({ field, detail: "cannot change when resuming: it is fixed by the checkpoint" }));
        if (fixed[0]) throw new ConfigError(fixed[0].field, fixed[0].detail, fixed.slice(1));
        input = { ...resume.config, ...hyper } as TrainConfigInput;
      }
      if (dryRun) input = { ...input, iterations: (resume?.iteration ?? 0) + 1 };
      const config = parseTrainConfig(input);
      await mkdir(out, { recursive: true });
      const metricsPath = join(out, "metrics.csv");
      await prepareMetricsFile(metricsPath, resume?.iteration);
      const metricsFile = createWriteStream(metricsPath, { flags: "a" });

      let info: RunInfo | undefined;
      const controller = new AbortController();
      const output = new TrainOutput(() => {
        if (controller.signal.aborted) return;
        output.warning("dcgan: standard output was closed: stopping at the next iteration boundary and writing a checkpoint");
        controller.abort();
      });
      const print = (line: string) => output.line(line);
      const removeSignalHandlers = onStopSignals({
        stop: () => {
          print("stopping at the next iteration boundary and writing a checkpoint (Ctrl-C again to quit at once)");
          controller.abort();
        },
        quit: () => process.exit(130),
      });
      try {
        const result = await train(config, {
          outDir: out,
          resume,
          signal: controller.signal,
          onStart: (runInfo) => {
            info = runInfo;
            const { chosen, skipped } = runInfo.backend;
            for (const s of skipped) print(`backend ${s.name} passed over: ${s.detail}`);
            const threads = runInfo.threads === undefined ? "" : `, ${runInfo.threads} thread${runInfo.threads === 1 ? "" : "s"}`;
            print(
              `backend ${chosen.name} (${chosen.detail})${threads}; ${runInfo.dataset}; ` +
                `${runInfo.totalIterations} iterations, ${runInfo.batchesPerEpoch} batches per epoch; seed ${config.seed}`,
            );
            output.start(runInfo.totalIterations, runInfo.startIteration);
          },
          onIteration: (m) => {
            metricsFile.write(metricsCsvRow(m));
            output.progress(m.iteration, m.imagesPerSecond);
            if ((m.iteration - 1) % logEvery === 0 || m.iteration === info!.totalIterations) {
              print(formatLogLine(m, info!.epochs, info!.batchesPerEpoch));
            }
          },
          onSample: (s) => print(`sample ${s.path}`),
          onCheckpoint: (c) => print(`checkpoint ${c.path}`),
        });
        output.stop();
        print(`${result.status} at iteration ${result.iteration}; metrics in ${metricsPath}`);
        if (result.status === "stopped" && result.lastCheckpoint) print(`to continue: dcgan train --resume ${result.lastCheckpoint}`);
      } finally {
        output.stop();
        removeSignalHandlers();
        await new Promise((resolve) => metricsFile.end(resolve));
      }
    }),
  );
}

/**
 * A fresh run starts a new file. A resumed one keeps the rows up to the checkpoint
 * and drops any written after it (by a run that crashed), so no iteration repeats.
 */
async function prepareMetricsFile(path: string, resumedAt: number | undefined): Promise<void> {
  let kept = metricsCsvHeader();
  if (resumedAt !== undefined) {
    const existing = await readFile(path, "utf8").catch(() => "");
    const rows = existing.split("\n").slice(1).filter((row) => row !== "" && Number(row.split(",")[0]) <= resumedAt);
    kept += rows.map((row) => `${row}\n`).join("");
  }
  await writeFile(path, kept);
}

