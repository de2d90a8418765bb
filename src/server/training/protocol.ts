/**
 * Messages between the server and a training process (child_process IPC). The
 * worker knows the engine; the server knows runs, storage and subscribers.
 */
import type { TrainConfig } from "../../engine/config.js";
import type { IterationMetrics } from "../../engine/metrics.js";

export type ServerMessage =
  /**
   * Train `config`, writing files under `outDir`, from scratch or from a checkpoint file;
   * every file the dataset reads must lie in `dataRoots` (symlinks followed).
   */
  | { type: "start"; config: TrainConfig; outDir: string; resumeFrom?: string; dataRoots: string[] }
  /** Stop at the next iteration boundary, with a final checkpoint and sample. */
  | { type: "stop" };

export interface FileEvent {
  path: string;
  iteration: number;
  epoch: number;
  bytes: number;
}

export type WorkerMessage =
  | {
      type: "started";
      backend: string;
      backendDetail: string;
      dataset: string;
      channels: number;
      totalIterations: number;
      batchesPerEpoch: number;
    }
  | { type: "iteration"; metrics: IterationMetrics }
  | ({ type: "sample"; kind: "fixed-noise" | "real" } & FileEvent)
  | ({ type: "checkpoint" } & FileEvent)
  | { type: "finished"; status: "completed" | "stopped"; iteration: number; epoch: number }
  | { type: "failed"; error: string };
