import type { Command } from "commander";
import { useBackend } from "../engine/backends/index.js";
import { BACKEND_CHOICES, type BackendChoice } from "../engine/config.js";
import { loadFixture, runParity } from "../engine/parity.js";
import type { RunAction } from "./errors.js";

export function addParityCommand(program: Command, run: RunAction): void {
  program
    .command("parity <fixture>")
    .description(
      "replay a PyTorch fixture (reference/dcgan_reference.py fixture) and print the largest relative error of each " +
        "metric and tensor as one JSON line; exits 1 above 1e-3",
    )
    .option("--backend <name>", `one of ${BACKEND_CHOICES.join(", ")}`, "auto")
    .action(
      run(async (fixturePath: string, opts: { backend: BackendChoice }) => {
        await useBackend(opts.backend);
        const report = await runParity(await loadFixture(fixturePath));
        process.stdout.write(`${JSON.stringify(report)}\n`);
        if (!report.pass) process.exitCode = 1;
      }),
    );
}
