import { ALL_CORES, threadsLabel } from "../engine/backends/threads.js";
import type { Command } from "commander";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCheckpoint } from "../engine/checkpoint.js";
import {
  BACKEND_CHOICES,
  ConfigError,
  DATASET_KINDS,
  DEFAULT_FASHION_MNIST_PATH,
  parseTrainConfig,
  TRAIN_DEFAULTS,
  type TrainConfigInput,
} from "../engine/config.js";
import { formatLogLine, metricsCsvHeader, metricsCsvRow } from "../engine/metrics.js";
import { type RunInfo, train } from "../engine/trainer.js";
import { integerFrom, number } from "./args.js";
import type { RunAction } from "./errors.js";
import { TrainOutput } from "./train-output.js";
import { onStopSignals } from "../process/stop-signals.js";

/** A flag's help with the engine's default for its setting (TRAIN_DEFAULTS, the one source of them). */
const withDefault = (help: string, setting: keyof typeof TRAIN_DEFAULTS) => `${help} (default ${TRAIN_DEFAULTS[setting]})`;

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
    .option("--dataset <kind>", withDefault(DATASET_KINDS.join(" | "), "dataset"))
    .option("--data-path <path>", `folder of the IDX files or images (fashion-mnist: ${DEFAULT_FASHION_MNIST_PATH})`)
    .option("--image-size <n>", withDefault("16, 32, 64, 128, ...", "imageSize"), number)
    .option("--channels <n>", "image channels nc (default: the dataset's)", number)
    .option("--nz <n>", withDefault("latent vector size", "nz"), number)
    .option("--ngf <n>", withDefault("generator width", "ngf"), number)
    .option("--ndf <n>", withDefault("discriminator width", "ndf"), number)
    .option("--batch-size <n>", withDefault("batch size", "batchSize"), number)
    .option("--lr <rate>", withDefault("Adam learning rate", "lr"), number)
    .option("--beta1 <b>", withDefault("Adam beta1", "beta1"), number)
    .option("--seed <n>", withDefault("random seed", "seed"), number)
    .option("--iterations <n>", "iterations to train (instead of --epochs)", number)
    .option("--epochs <n>", withDefault("passes over the data", "epochs"), number)
    .option("--backend <name>", withDefault(BACKEND_CHOICES.join(" | "), "backend"))
    .option("--threads <n>", `CPU threads of the wasm backend's native kernels (default: all ${ALL_CORES} cores)`, number)
    .option("--sample-every <n>", withDefault("render the fixed-noise grid every N iterations", "sampleEvery"), number)
    .option("--checkpoint-every <n>", withDefault("write a checkpoint every N iterations", "checkpointEvery"), number)
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
            const threads = runInfo.threads === undefined ? "" : `, ${threadsLabel(runInfo.threads)}`;
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
          onSample: (s) => print(`sample ${s.path}${s.diversity === undefined ? "" : ` diversity ${s.diversity.toFixed(4)}`}`),
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

