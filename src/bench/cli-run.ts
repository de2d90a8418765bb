import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type BenchRun, RUN_SHAPE, wallImagesPerSecond } from "./bench-run.js";

const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/** Images/s of `dcgan train` on the benchmark's run, from the timestamps in its metrics.csv. */
export async function benchCliRun({ iterations, writeEvery, dataset, threads }: BenchRun): Promise<number> {
  const out = await mkdtemp(join(tmpdir(), "dcgan-bench-cli-"));
  try {
    await promisify(execFile)(process.execPath, [
      CLI, "train", "--backend", "wasm", "--dataset", dataset === "FASHION_MNIST" ? "fashion-mnist" : "synthetic",
      "--image-size", String(RUN_SHAPE.imageSize), "--channels", String(RUN_SHAPE.channels),
      "--ngf", String(RUN_SHAPE.ngf), "--ndf", String(RUN_SHAPE.ndf), "--batch-size", String(RUN_SHAPE.batchSize),
      "--iterations", String(iterations), "--sample-every", String(writeEvery), "--checkpoint-every", String(writeEvery), "--threads", String(threads),
      "--out", out,
    ]);
    const [header, ...rows] = (await readFile(join(out, "metrics.csv"), "utf8")).trim().split("\n");
    const column = header!.split(",").indexOf("timestamp");
    return wallImagesPerSecond(rows.map((row) => Number(row.split(",")[column])), RUN_SHAPE.batchSize);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
