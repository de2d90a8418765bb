import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { ALL_CORES } from "../src/engine/backends/threads.js";
import { tempDir } from "./helpers.js";
import { userEnv } from "./process-helpers.js";

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The `dcgan` command from source. */
const DCGAN = [process.execPath, "--import", "tsx", "src/cli/main.ts"];

/** Runs the CLI from source, with a user's environment; `onLine` sees each stdout line as it arrives. */
function dcgan(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<Result> {
  const child = spawn(DCGAN[0]!, [...DCGAN.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"], env: userEnv() });
  let stdout = "";
  let stderr = "";
  createInterface({ input: child.stdout! }).on("line", (line) => {
    stdout += `${line}\n`;
    onLine?.(line, child);
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const TINY = ["--image-size", "16", "--channels", "1", "--nz", "8", "--ngf", "4", "--ndf", "4", "--batch-size", "4", "--backend", "cpu"];

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});

describe("dcgan train", () => {
  it("prints the tutorial's log line and writes samples, checkpoints and a metrics file", async () => {
    const out = join(dir, "train");
    const { code, stdout } = await dcgan(["train", ...TINY, "--iterations", "3", "--log-every", "2", "--out", out]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\[0\/1\]\[0\/2048\]\tLoss_D: \d+\.\d{4}\tLoss_G: \d+\.\d{4}\tD\(x\): \d\.\d{4}\tD\(G\(z\)\): \d\.\d{4} \/ \d\.\d{4}$/m);
    expect(stdout).toMatch(/^\[0\/1\]\[2\/2048\]/m);
    const csv = (await readFile(join(out, "metrics.csv"), "utf8")).trim().split("\n");
    expect(csv[0]).toBe("iteration,epoch,batch,lossD,lossG,dX,dGz1,dGz2,errDReal,errDFake,imagesPerSecond,timestamp");
    expect(csv.slice(1).map((row) => row.split(",")[0])).toEqual(["1", "2", "3"]);
    expect(existsSync(join(out, "samples", "fake_00000003.png"))).toBe(true);
    expect(existsSync(join(out, "samples", "real.png"))).toBe(true);
    expect(existsSync(join(out, "checkpoints", "iter_00000003.dcgan"))).toBe(true);
  });

  it("runs wasm's native kernels on every core unless --threads says otherwise, and says how many", async () => {
    const threadsLine = async (extra: string[]) => {
      const { code, stdout } = await dcgan(["train", ...TINY, "--backend", "wasm", "--iterations", "1", "--out", join(dir, "threads"), ...extra]);
      expect(code).toBe(0);
      return /^backend wasm \((.*?)\)(, \d+ threads?)?; /m.exec(stdout)!;
    };
    const [, detail, every] = await threadsLine([]);
    // Without the native kernels wasm has one thread, whatever the setting, and the line says why instead.
    if (!/native kernels: oneDNN/.test(detail!)) return expect(every).toBeUndefined();
    expect(every).toBe(`, ${ALL_CORES} thread${ALL_CORES === 1 ? "" : "s"}`);
    expect((await threadsLine(["--threads", "1"]))[2]).toBe(", 1 thread");
    const refused = await dcgan(["train", ...TINY, "--threads", "0"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("dcgan: --threads: must be a whole number from 1 to 1024\n");
  });

  it("rejects bad hyperparameters naming the flag", async () => {
    const bad = await dcgan(["train", "--image-size", "48", "--out", join(dir, "bad")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^dcgan: --image-size: must be 4 times a power of two/m);
    const nan = await dcgan(["train", "--lr", "fast"]);
    expect(nan.code).toBe(1);
    expect(nan.stderr).toBe("dcgan: --lr: must be a number above 0 and at most 1\n");
  });

  it("names every invalid flag at once, in plain words, before writing anything", async () => {
    const out = join(dir, "all-bad");
    const bad = await dcgan(["train", "--lr", "-1", "--batch-size", "0", "--image-size", "30", "--channels", "2", "--nz", "many", "--dataset", "folder", "--out", out]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trimEnd().split("\n").sort()).toEqual([
      "dcgan: --batch-size: must be a whole number from 2 to 65536",
      "dcgan: --channels: must be 1 or 3: 1 trains on grey images (colour ones are converted to grey), 3 on colour ones (grey ones repeat their grey in all three)",
      "dcgan: --data-path: is needed for this dataset: only fashion-mnist has a default folder",
      "dcgan: --image-size: must be 4 times a power of two and at least 16 (16, 32, 64, 128, ...)",
      "dcgan: --lr: must be a number above 0 and at most 1",
      "dcgan: --nz: must be a whole number from 1 to 4096",
    ]);
    expect(existsSync(out)).toBe(false);
  });

  it("names a missing data folder before training starts", async () => {
    const missing = join(dir, "no-such-folder");
    const { code, stderr } = await dcgan(["train", ...TINY, "--dataset", "mnist", "--data-path", missing, "--out", join(dir, "m")]);
    expect(code).toBe(1);
    expect(stderr).toContain(missing);
    expect(existsSync(join(dir, "m", "checkpoints"))).toBe(false);
  });

  it("stops at an iteration boundary on Ctrl-C (forwarded by npx too) with a checkpoint it names, and resumes with the same numbering", async () => {
    const out = join(dir, "sigint");
    let interrupted = false;
    const first = await dcgan(["train", ...TINY, "--iterations", "100000", "--log-every", "1", "--out", out], (line, child) => {
      if (!interrupted && /^\[0\/\d+\]\[2\//.test(line)) {
        interrupted = true;
        child.kill("SIGINT");
      }
      // The copy of the same Ctrl-C that npm forwards where `sh -c` execs the command,
      // arriving after the first was handled.
      if (line.startsWith("stopping at the next iteration boundary")) child.kill("SIGINT");
    });
    expect(first.code).toBe(0);
    const stoppedAt = Number(/stopped at iteration (\d+)/.exec(first.stdout)![1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(3);
    const checkpoint = join(out, "checkpoints", `iter_${String(stoppedAt).padStart(8, "0")}.dcgan`);
    expect(existsSync(checkpoint)).toBe(true);
    expect(first.stdout).toContain(`checkpoint ${checkpoint}\n`);
    expect(first.stdout).toContain(`to continue: dcgan train --resume ${checkpoint}\n`);

    const second = await dcgan(["train", "--resume", checkpoint, "--iterations", String(stoppedAt + 2), "--log-every", "1", "--out", out]);
    expect(second.code).toBe(0);
    const rows = (await readFile(join(out, "metrics.csv"), "utf8")).trim().split("\n").slice(1);
    expect(rows.map((r) => Number(r.split(",")[0]))).toEqual(Array.from({ length: stoppedAt + 2 }, (_, i) => i + 1));
  });

  it("on Ctrl-C with its output piped (`dcgan train | tee log`, tee gone too) still writes the checkpoint and names it on stderr", async () => {
    const out = join(dir, "pipe");
    const child = spawn(DCGAN[0]!, [...DCGAN.slice(1), "train", ...TINY, "--iterations", "100000", "--log-every", "1", "--out", out], {
      stdio: ["ignore", "pipe", "pipe"],
      env: userEnv(),
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = once(child, "close");
    for await (const line of createInterface({ input: child.stdout! })) {
      if (/^\[0\/\d+\]\[2\//.test(line)) break;
    }
    // Ctrl-C ends tee (the reader) and signals the CLI.
    child.stdout!.destroy();
    child.kill("SIGINT");
    const [code] = await closed;
    expect(code).toBe(0);
    const checkpoint = /^checkpoint (.+\.dcgan)$/m.exec(stderr)?.[1];
    expect(checkpoint, stderr).toBeDefined();
    expect(existsSync(checkpoint!)).toBe(true);
    expect(stderr).toMatch(/^stopped at iteration \d+; metrics in /m);
  });

  it("on Ctrl-C in a terminal prints the checkpoint and where it stopped after its progress bar", async () => {
    const out = join(dir, "tty");
    const command = [...DCGAN, "train", ...TINY, "--iterations", "100000", "--log-every", "1", "--out", out];
    // script(1) runs the CLI on a pseudo-terminal; a Ctrl-C typed there signals its foreground
    // process group. script starts it through $SHELL -c; `exec` makes the CLI that group alone,
    // as under an interactive shell, whichever shell it is (dash, CI's /bin/sh, would otherwise
    // wait in the same group and die of the Ctrl-C itself).
    const shellLine = `exec ${command.map((a) => `'${a}'`).join(" ")}`;
    const child = spawn("script", ["-qfec", shellLine, "/dev/null"], { stdio: ["pipe", "pipe", "inherit"], env: userEnv() });
    let screen = "";
    let typed = false;
    child.stdout!.on("data", (chunk: Buffer) => {
      screen += chunk.toString();
      if (!typed && /\[0\/\d+\]\[2\//.test(screen)) {
        typed = true;
        child.stdin!.write("\x03");
      }
    });
    const [code] = await once(child, "close");
    expect(code).toBe(0);
    expect(screen).toMatch(/\d+\/100000 it/); // the progress bar was on
    const checkpoint = /checkpoint (\S+\.dcgan)/.exec(screen)?.[1];
    expect(checkpoint, screen).toBeDefined();
    expect(existsSync(checkpoint!)).toBe(true);
    expect(screen).toMatch(/stopped at iteration \d+; metrics in /);
  });

  it("refuses to change the model when resuming", async () => {
    const out = join(dir, "resume-bad");
    await dcgan(["train", ...TINY, "--iterations", "1", "--out", out]);
    const { code, stderr } = await dcgan(["train", "--resume", join(out, "checkpoints", "iter_00000001.dcgan"), "--ngf", "8", "--nz", "9"]);
    expect(code).toBe(1);
    // Every flag the checkpoint fixes, at once.
    expect(stderr).toBe("dcgan: --ngf: cannot change when resuming: it is fixed by the checkpoint\ndcgan: --nz: cannot change when resuming: it is fixed by the checkpoint\n");
  });
});

describe("dcgan generate", () => {
  it("renders any number of images from a checkpoint in make_grid's layout", async () => {
    const out = join(dir, "gen");
    await dcgan(["train", ...TINY, "--iterations", "1", "--out", out]);
    const png = join(dir, "ten.png");
    const { code, stdout } = await dcgan(["generate", join(out, "checkpoints", "iter_00000001.dcgan"), "--count", "10", "--seed", "3", "--out", png, "--backend", "cpu"]);
    expect(code).toBe(0);
    expect(stdout).toContain("10 images from iteration 1");
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([8 * 18 + 2, 2 * 18 + 2]);
    const again = join(dir, "ten-again.png");
    await dcgan(["generate", join(out, "checkpoints", "iter_00000001.dcgan"), "--count", "10", "--seed", "3", "--out", again, "--backend", "cpu"]);
    expect(await readFile(again)).toEqual(await readFile(png));
  });

  it("rejects a file that is not a checkpoint", async () => {
    const { code, stderr } = await dcgan(["generate", "package.json", "--backend", "cpu"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/package.json: not a DCGAN checkpoint/);
  });
});

describe("dcgan backends and parity", () => {
  it("reports every backend as JSON", async () => {
    const { code, stdout } = await dcgan(["backends", "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { name: string; available: boolean; detail: string }[];
    expect(report.map((r) => r.name)).toEqual(["tensorflow", "webgpu", "wasm", "cpu"]);
  });

  it("exits 1 when PyTorch's numbers differ", async () => {
    const fixture = JSON.parse(await readFile("test/fixtures/grey16.json", "utf8")) as {
      iterations: { metrics: Record<string, number> }[];
    };
    fixture.iterations[0]!.metrics.D_x! += 0.01;
    const tampered = join(dir, "tampered.json");
    await writeFile(tampered, JSON.stringify(fixture));
    const { code, stdout } = await dcgan(["parity", tampered, "--backend", "cpu"]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ pass: false });
  });

  it("prints one JSON line and exits 0 when within tolerance", async () => {
    const { code, stdout } = await dcgan(["parity", "test/fixtures/grey16.json", "--backend", "wasm"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { pass: boolean; backend: string };
    expect(report).toMatchObject({ pass: true, backend: "wasm" });
  });
});
