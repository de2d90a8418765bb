import type { Command } from "commander";
import { backendReport } from "../engine/backends/index.js";
import type { RunAction } from "./errors.js";

export function addBackendsCommand(program: Command, run: RunAction): void {
  program
    .command("backends")
    .description("which TensorFlow.js backends work here, in the order `auto` tries them, and why not")
    .option("--json", "print the report as JSON")
    .action(
      run(async (opts: { json?: boolean }) => {
        const report = await backendReport();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(report)}\n`);
          return;
        }
        const width = Math.max(...report.map((r) => r.name.length));
        for (const r of report) {
          process.stdout.write(`${r.name.padEnd(width)}  ${r.available ? "yes" : "no "}  ${r.detail}\n`);
        }
      }),
    );
}
