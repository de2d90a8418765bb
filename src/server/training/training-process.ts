import { type ChildProcess, fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";
import { entryPoint } from "./entry-point.js";
import type { ProcessRequest, ServerMessage, WorkerMessage } from "./protocol.js";

const WORKER = entryPoint("./worker");

export interface TrainingProcessEvents {
  message: [WorkerMessage];
  /** A line the process printed (a backend's warnings, a crash's stack trace). */
  output: [line: string];
  /** The process ended; `error` is set when it ended without reporting an outcome. */
  exit: [error: string | undefined];
}

/** One training run, or one `generate` render (see generate-process.ts), in its own Node process. */
export class TrainingProcess extends EventEmitter<TrainingProcessEvents> {
  private readonly child: ChildProcess;
  private outcomeReported = false;

  constructor(request: ProcessRequest) {
    super();
    const what = request.type === "start" ? "training process" : "generate process";
    this.child = fork(WORKER.file, [], {
      execArgv: WORKER.execArgv,
      // Piped, not inherited: the server's stdout carries its JSON log lines only.
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => this.emit("output", line));
    }
    this.child.on("message", (message: WorkerMessage) => {
      if (message.type === "finished" || message.type === "generated" || message.type === "failed") this.outcomeReported = true;
      this.emit("message", message);
    });
    // A process that never started has no exit to report; other errors (a kill or a send
    // to a dead worker) are followed by its exit.
    this.child.on("error", (err) => {
      if (this.child.pid === undefined) this.emit("exit", `${what} could not start: ${err.message}`);
    });
    this.child.on("exit", (code, signal) => {
      const error = this.outcomeReported
        ? undefined
        : signal
          ? `${what} killed by ${signal}${signal === "SIGKILL" || signal === "SIGABRT" ? " (out of memory?)" : ""}`
          : `${what} exited with code ${code} before finishing`;
      this.emit("exit", error);
    });
    this.send(request);
  }

  stop(): void {
    if (this.child.connected) this.send({ type: "stop" });
  }

  /**
   * A worker can die between the `connected` check and the write. Without a callback the
   * failed write (EPIPE) is an unhandled 'error' event that takes the server down; the
   * worker's death is reported by its exit either way.
   */
  private send(message: ServerMessage): void {
    this.child.send(message, () => undefined);
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}
