import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import type { BackendStatus } from "../../engine/backends/index.js";
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from "../../engine/config.js";
import { DatasetError, inspectDataset } from "../../engine/data/index.js";
import { isWithin, realRoots } from "../../engine/data/roots.js";
import { estimateTrainingBytes } from "../../engine/memory.js";
import { collectInputErrors, InputError, InputErrors, parseConfigInput } from "../input-error.js";

export interface RunValidationOptions {
  /** Folders dataset paths must resolve into. */
  dataRoots: string[];
  memoryBudgetMb: number;
  /** The backends that work here (SystemFacts). */
  backends(): Promise<BackendStatus[]>;
}

/**
 * The config with its defaults, the dataset's channels and the data path's real path;
 * refused with every invalid field at once. The data path and the backend are checked
 * whatever else is wrong; the memory and the dataset, which need every other field,
 * once those are sound.
 */
export async function validateRunConfig(input: TrainConfigInput, options: RunValidationOptions): Promise<TrainConfig> {
  const { config: parsed, errors: found } = parseConfigInput(input);
  const sound = (field: string) => !found.some((e) => e.field === field);
  const { dataPath, backend } = input;
  const [realPath] = await Promise.all([
    dataPath !== undefined && sound("dataset.path") ? collectInputErrors(found, () => confine(dataPath, options.dataRoots)) : undefined,
    backend !== undefined && backend !== "auto" && sound("backend")
      ? collectInputErrors(found, async () => {
          const status = (await options.backends()).find((b) => b.name === backend)!;
          if (!status.available) throw new InputError("backend", `${backend} is not available here: ${status.detail}`);
        })
      : undefined,
  ]);
  InputErrors.throwIfAny(found);
  const config: TrainConfig = { ...parsed!, ...(realPath === undefined ? {} : { dataPath: realPath }) };
  await collectInputErrors(found, () => withinMemoryBudget(config, options.memoryBudgetMb));
  const dataset = await collectInputErrors(found, async () => {
    try {
      return await inspectDataset({ kind: config.dataset, path: config.dataPath, imageSize: config.imageSize, channels: config.channels, seed: config.seed, dataRoots: options.dataRoots });
    } catch (err) {
      throw err instanceof DatasetError ? new InputError("dataset.path", err.message) : err;
    }
  });
  InputErrors.throwIfAny(found);
  return { ...config, channels: config.channels ?? dataset!.channels };
}

/**
 * Refuses a run whose tensors would not fit the memory budget, naming the field
 * whose default would shrink them most (with the dataset's channels unknown yet, 3).
 */
function withinMemoryBudget(config: TrainConfig, memoryBudgetMb: number): void {
  const budget = memoryBudgetMb * 2 ** 20;
  const bytes = (c: TrainConfig) => estimateTrainingBytes({ ...c, channels: c.channels ?? 3 });
  const needed = bytes(config);
  if (needed <= budget) return;
  const defaults = parseTrainConfig({});
  const fields = ["batchSize", "imageSize", "ngf", "ndf", "nz"] as const;
  const savings = fields.map((field) => ({ field, bytes: bytes({ ...config, [field]: defaults[field] }) }));
  const culprit = savings.reduce((best, s) => (s.bytes < best.bytes ? s : best), { field: "batchSize" as (typeof fields)[number], bytes: needed });
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  throw new InputError(
    culprit.field,
    `this run needs about ${gib(needed)} of tensor memory, more than the server's budget of ${gib(budget)} ` +
      "(MEMORY_BUDGET_MB): lower batchSize, imageSize, ngf or ndf",
  );
}

/**
 * The dataset path with symlinks resolved, if it lies inside a data root. Outside,
 * the refusal is the same whether the path exists or not, so it reveals nothing.
 */
async function confine(path: string, dataRoots: string[]): Promise<string> {
  const refuse = () => new InputError("dataset.path", `must be inside one of the data roots (${dataRoots.join(", ")})`);
  const lexical = resolve(path);
  if (!isWithin(lexical, dataRoots)) throw refuse();
  const real = await realpath(lexical).catch(() => undefined);
  if (real === undefined) throw new InputError("dataset.path", `${path} does not exist`);
  // Roots may themselves be symlinks: a real path is compared with their real paths.
  if (!isWithin(real, await realRoots(dataRoots))) throw refuse();
  return real;
}
