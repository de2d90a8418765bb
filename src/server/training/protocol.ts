/**
 * Messages between the server and an engine process (child_process IPC): a training run,
 * or one `generate` render. The worker knows the engine; the server knows runs,
 * storage and subscribers.
 */
import type { TrainConfig } from "../../engine/config.js";
import type { IterationMetrics } from "../../engine/metrics.js";
import type { FileWritten, SampleWritten } from "../../engine/run-output.js";

/** Render `count` images from the checkpoint file's generator as a grid PNG at `out`; the process then exits. */
export interface GenerateRequest {
  type: "generate";
  checkpoint: string;
  count: number;
  seed: number;
  out: string;
}

/** Train `config`, writing files under `outDir`, from scratch or from a checkpoint file. */
export interface StartRequest {
  type: "start";
  config: TrainConfig;
  outDir: string;
  resumeFrom?: string;
  /** resumeFrom is another run's checkpoint (forkRun): the config may change its hyperparameters. */
  fork?: boolean;
  /** Every file the dataset reads must lie in these folders (symlinks followed). */
  dataRoots: string[];
}

export type ServerMessage =
  | StartRequest
  | GenerateRequest
  /** Stop at the next iteration boundary, with a final checkpoint and sample. */
  | { type: "stop" };

/** The first message a process gets: what it is for. */
export type ProcessRequest = StartRequest | GenerateRequest;

export type WorkerMessage =
  | {
      type: "started";
      backend: string;
      backendDetail: string;
      dataset: string;
      totalIterations: number;
      batchesPerEpoch: number;
    }
  | { type: "iteration"; metrics: IterationMetrics }
  | ({ type: "sample" } & SampleWritten)
  | ({ type: "checkpoint" } & FileWritten)
  | { type: "finished"; status: "completed" | "stopped"; iteration: number; epoch: number }
  /** A generate request's grid, written; `iteration` and `epoch` are its checkpoint's. */
  | ({ type: "generated"; count: number } & FileWritten)
  /**
   * What went wrong, in words; `errorName` is the error's class (CheckpointError,
   * OutOfMemoryError, ...), by which the server tells a client's mistake from its own.
   */
  | { type: "failed"; error: string; errorName?: string };
