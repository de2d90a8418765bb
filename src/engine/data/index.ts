import { DEFAULT_FASHION_MNIST_PATH, type DatasetKind } from "../config.js";
import { Rng } from "../rng.js";
import { DatasetError, type Dataset } from "./dataset.js";
import { openImageFolder } from "./folder.js";
import { openIdxDataset } from "./idx.js";
import { createSyntheticDataset } from "./synthetic.js";

export { DatasetError, type Dataset } from "./dataset.js";

export interface OpenDatasetOptions {
  kind: DatasetKind;
  /** Ignored for synthetic; fashion-mnist defaults to Debian's install path. */
  path?: string;
  imageSize: number;
  /** Defaults: 1 for the IDX sets, 3 otherwise. */
  channels?: number;
  seed: number;
}

export async function openDataset({ kind, path, imageSize, channels, seed }: OpenDatasetOptions): Promise<Dataset> {
  switch (kind) {
    case "synthetic":
      return createSyntheticDataset({ seed, imageSize, channels: channels ?? 3 });
    case "fashion-mnist":
      return openIdxDataset({ kind, path: path ?? DEFAULT_FASHION_MNIST_PATH, imageSize, channels });
    case "mnist":
      if (path === undefined) throw new DatasetError(kind, "mnist needs a data path");
      return openIdxDataset({ kind, path, imageSize, channels });
    case "folder":
      if (path === undefined) throw new DatasetError(kind, "folder needs a data path");
      return openImageFolder({ path, imageSize, channels });
  }
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
