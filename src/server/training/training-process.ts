import { type ChildProcess, fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import type { ServerMessage, WorkerMessage } from "./protocol.js";

/** From source (tests, tsx) the worker is TypeScript and needs tsx's loader. */
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const WORKER = fileURLToPath(new URL(FROM_SOURCE ? "./worker.ts" : "./worker.js", import.meta.url));

export interface TrainingProcessEvents {
  message: [WorkerMessage];
  /** The process ended; `error` is set when it ended without reporting an outcome. */
  exit: [error: string | undefined];
}

/** One training run in its own Node process. */
export class TrainingProcess extends EventEmitter<TrainingProcessEvents> {
  private readonly child: ChildProcess;
  private outcomeReported = false;

  constructor(start: Extract<ServerMessage, { type: "start" }>) {
    super();
    this.child = fork(WORKER, [], {
      execArgv: FROM_SOURCE ? ["--import", "tsx"] : [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (message: WorkerMessage) => {
      if (message.type === "finished" || message.type === "failed") this.outcomeReported = true;
      this.emit("message", message);
    });
    this.child.on("exit", (code, signal) => {
      const error = this.outcomeReported
        ? undefined
        : signal
          ? `training process killed by ${signal}${signal === "SIGKILL" || signal === "SIGABRT" ? " (out of memory?)" : ""}`
          : `training process exited with code ${code} before finishing`;
      this.emit("exit", error);
    });
    this.child.send(start);
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: "stop" } satisfies ServerMessage);
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}
