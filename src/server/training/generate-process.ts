import type { Logger } from "pino";
import { logOutput } from "./cli-process.js";
import type { GenerateRequest, WorkerMessage } from "./protocol.js";
import { TrainingProcess } from "./training-process.js";

/** How long a render may take before its process is killed. */
export const GENERATE_TIMEOUT_MS = 120_000;

export type Generated = Extract<WorkerMessage, { type: "generated" }>;

/** Why a generate process rendered nothing, in words; `errorName` as the worker reported it. */
export class GenerateProcessError extends Error {
  constructor(
    message: string,
    readonly errorName?: string,
  ) {
    super(message);
    this.name = "GenerateProcessError";
  }
}

/**
 * Renders a grid from a checkpoint in a process of its own, speaking the training
 * processes' protocol (worker.ts): its tensors, a native crash and what its backend
 * prints stay out of the server's process; what it prints goes to the log, an entry
 * per line. Rejects with a GenerateProcessError saying why nothing was rendered.
 */
export function generateInProcess(request: Omit<GenerateRequest, "type">, log: Logger, timeoutMs = GENERATE_TIMEOUT_MS): Promise<Generated> {
  return new Promise((resolve, reject) => {
    const child = new TrainingProcess({ type: "generate", ...request });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill();
    }, timeoutMs);
    // The first outcome settles the promise: the grid, the worker's own failure, or its exit.
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      outcome();
    };
    child.on("output", (line) => logOutput(log, line, { command: "generate" }));
    child.on("message", (message) => {
      if (message.type === "generated") settle(() => resolve(message));
      else if (message.type === "failed") settle(() => reject(new GenerateProcessError(message.error, message.errorName)));
    });
    child.on("exit", (error) =>
      settle(() => reject(new GenerateProcessError(timedOut ? `rendering took longer than ${timeoutMs / 1000} s and was stopped` : error ?? "generate process ended without rendering"))),
    );
  });
}
