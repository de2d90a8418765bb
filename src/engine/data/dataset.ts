/**
 * A source of training images. Images are NHWC float32 in [-1, 1] (the tutorial's
 * Normalize(0.5, 0.5)), already at the run's image size and channel count.
 */
export interface Dataset {
  /** For logs and reports, e.g. "fashion-mnist (60000 images from /usr/share/...)". */
  readonly description: string;
  /** Number of images; indices are 0..size-1. */
  readonly size: number;
  readonly imageSize: number;
  readonly channels: number;
  /** The images at these indices, concatenated NHWC. */
  load(indices: ArrayLike<number>): Promise<Float32Array>;
}

/** What a dataset is, without the means to read its images (see inspectDataset). */
export type DatasetSummary = Omit<Dataset, "load">;

/** A dataset that cannot be used: missing or unreadable file, empty folder, wrong format. */
export class DatasetError extends Error {
  constructor(
    /** The file or folder at fault. */
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "DatasetError";
  }
}
