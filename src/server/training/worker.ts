/**
 * Entry point of an engine process: one training run, or one `generate` render, driven
 * by the server over IPC. A crash or out-of-memory here ends this process only; the
 * server marks the run FAILED, or tells the client why nothing was rendered.
 */
import { useBackend } from "../../engine/backends/index.js";
import { threadsLabel } from "../../engine/backends/threads.js";
import { loadCheckpoint } from "../../engine/checkpoint.js";
import { generateFromCheckpoint } from "../../engine/generate.js";
import { train } from "../../engine/trainer.js";
import type { GenerateRequest, ServerMessage, StartRequest, WorkerMessage } from "./protocol.js";

const controller = new AbortController();

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (err: Error | null) => (err ? reject(err) : resolve())));
}

async function run(start: StartRequest): Promise<void> {
  const resume = start.resumeFrom ? await loadCheckpoint(start.resumeFrom) : undefined;
  const result = await train(start.config, {
    outDir: start.outDir,
    dataRoots: start.dataRoots,
    resume,
    fork: start.fork,
    signal: controller.signal,
    onStart: (info) =>
      void send({
        type: "started",
        backend: info.backend.chosen.name,
        backendDetail: info.backend.chosen.detail + (info.threads === undefined ? "" : `; ${threadsLabel(info.threads)}`),
        dataset: info.dataset,
        totalIterations: info.totalIterations,
        batchesPerEpoch: info.batchesPerEpoch,
      }),
    // Awaiting the send applies back-pressure: training never outruns the IPC channel.
    onIteration: (metrics) => {
      // NaN cannot be stored (SQLite) or sent (GraphQL Float); a run producing it is lost anyway.
      const broken = Object.entries(metrics).find(([, v]) => !Number.isFinite(v));
      if (broken) throw new Error(`training diverged at iteration ${metrics.iteration}: ${broken[0]} is ${broken[1]}`);
      return send({ type: "iteration", metrics });
    },
    onSample: ({ kind, path, iteration, epoch, bytes, diversity }) => send({ type: "sample", kind, path, iteration, epoch, bytes, diversity }),
    onCheckpoint: ({ path, iteration, epoch, bytes }) => send({ type: "checkpoint", path, iteration, epoch, bytes }),
  });
  await send({ type: "finished", status: result.status, iteration: result.iteration, epoch: result.epoch });
}

async function generate({ checkpoint, count, seed, out }: GenerateRequest): Promise<void> {
  await useBackend("auto");
  const grid = await generateFromCheckpoint(checkpoint, { count, seed, out });
  await send({ type: "generated", ...grid });
}

process.on("message", (message: ServerMessage) => {
  if (message.type === "stop") controller.abort();
  else {
    (message.type === "start" ? run(message) : generate(message)).then(
      () => process.exit(0),
      async (err: unknown) => {
        const failure = err instanceof Error ? { error: err.message, errorName: err.name } : { error: String(err) };
        await send({ type: "failed", ...failure }).catch(() => undefined);
        process.exit(1);
      },
    );
  }
});
// A Ctrl-C reaches the whole process group, and a service manager may signal every
// process of the service: the server decides what stops, and tells this one.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => undefined);
// The server died (e.g. SIGKILL): nobody would store what this run produces.
process.on("disconnect", () => process.exit(1));
