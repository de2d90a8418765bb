import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { entryPoint } from "./entry-point.js";

const CLI = entryPoint("../../cli/main");

/**
 * Runs a `dcgan` command in its own process and returns what it printed on stdout. The
 * server never loads a TensorFlow.js backend itself: its memory, a native crash and
 * what the backend prints (Dawn's warnings on stderr) stay out of the server's process;
 * the command's stderr goes to the log, an entry per line.
 */
export async function runCli(args: string[], log: Logger): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...CLI.execArgv, CLI.file, ...args], { timeout: 120_000 });
    logOutput(log, stderr, { command: `dcgan ${args[0]}` });
    return stdout;
  } catch (err) {
    logOutput(log, (err as { stderr?: string }).stderr ?? "", { command: `dcgan ${args[0]}` });
    throw err;
  }
}

/** A child process's output in the structured log, an entry per line, instead of plain text among its JSON lines. */
export function logOutput(log: Logger, text: string, bindings: Record<string, string>): void {
  for (const line of text.split("\n")) if (line.trim() !== "") log.warn({ ...bindings, output: line }, "child process output");
}
