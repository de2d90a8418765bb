import { DATASET_KINDS, DEFAULT_FASHION_MNIST_PATH, type DatasetKind } from "../config.js";
import { Rng } from "../rng.js";
import { DatasetError, type Dataset, type DatasetSummary } from "./dataset.js";
import { openImageFolder } from "./folder.js";
import { inspectIdxDataset, openIdxDataset, type IdxOptions } from "./idx.js";
import { createSyntheticDataset } from "./synthetic.js";

export { DatasetError, type Dataset, type DatasetSummary } from "./dataset.js";

export interface OpenDatasetOptions {
  kind: DatasetKind;
  /** Ignored for synthetic; fashion-mnist defaults to Debian's install path. */
  path?: string;
  imageSize: number;
  /** Defaults: 1 for the IDX sets, 3 otherwise. */
  channels?: number;
  seed: number;
  /**
   * Folders (a server's data roots) that `path`, and every folder and file read under
   * it, must really lie in, symbolic links resolved; anywhere when absent.
   */
  dataRoots?: readonly string[];
}

export async function openDataset(options: OpenDatasetOptions): Promise<Dataset> {
  const { kind, path, imageSize, channels, seed, dataRoots } = options;
  switch (kind) {
    case "synthetic":
      return createSyntheticDataset({ seed, imageSize, channels: channels ?? 3 });
    case "fashion-mnist":
    case "mnist":
      return openIdxDataset(idxOptions({ ...options, kind }));
    case "folder":
      if (path === undefined) throw new DatasetError(kind, "folder needs a data path");
      return openImageFolder({ path, imageSize, channels, dataRoots });
  }
}

/**
 * What openDataset would give, without loading the images: IDX files are read only as
 * far as their headers, so what a check costs does not grow with the file (a folder
 * is listed and its images' headers read, as openDataset does anyway).
 */
export async function inspectDataset(options: OpenDatasetOptions): Promise<DatasetSummary> {
  const { kind } = options;
  return kind === "fashion-mnist" || kind === "mnist" ? inspectIdxDataset(idxOptions({ ...options, kind })) : openDataset(options);
}

/**
 * The kinds of dataset usable here without a path: those that open from their defaults
 * (synthetic anywhere; fashion-mnist where its files are installed at the default path).
 */
export async function datasetsWithoutPath(): Promise<DatasetKind[]> {
  const usable = await Promise.all(
    DATASET_KINDS.map((kind) =>
      inspectDataset({ kind, imageSize: 64, seed: 0 }).then(
        () => true,
        (err: unknown) => {
          if (err instanceof DatasetError) return false;
          throw err;
        },
      ),
    ),
  );
  return DATASET_KINDS.filter((_, i) => usable[i]);
}

function idxOptions({ kind, path, imageSize, channels, dataRoots }: OpenDatasetOptions & { kind: IdxOptions["kind"] }): IdxOptions {
  if (path === undefined && kind === "mnist") throw new DatasetError(kind, "mnist needs a data path");
  // The default path is the installation's choice, not the caller's: no roots apply to it.
  if (path === undefined) return { kind, path: DEFAULT_FASHION_MNIST_PATH, imageSize, channels };
  return { kind, path, imageSize, channels, dataRoots };
}

/**
 * Only full batches are trained on (the tutorial's drop_last), so the remainder is
 * skipped. Given the dataset rather than its size, the error can name it.
 */
export function batchesPerEpoch(dataset: number | Pick<Dataset, "size" | "description">, batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size ${batchSize} is not a positive integer`);
  const { size, description } = typeof dataset === "number" ? { size: dataset, description: "dataset" } : dataset;
  const batches = Math.floor(size / batchSize);
  if (batches === 0) throw new DatasetError(description, `has ${size} images, fewer than one batch of ${batchSize}`);
  return batches;
}

/** The order of one epoch; its own stream per epoch, so resuming mid-run needs no saved state. */
export function epochOrder(seed: number, epoch: number, size: number): Uint32Array {
  return Rng.stream(seed, "shuffle", epoch).permutation(size);
}
