import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";

/** The machine a bench ran on, in a line. */
export function machineLabel(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
}

/** Where the bench writes its JSON. */
export function benchOut(): string {
  return process.env.DCGAN_BENCH_OUT ?? "bench-results.json";
}

/** A section run alone (DCGAN_BENCH_ONLY=<key>): its table on stdout, its rows under `key` in the JSON. */
export async function writeSection(key: string, { rows, table }: { rows: unknown; table: string }): Promise<void> {
  const machine = machineLabel();
  process.stdout.write(`\nMachine: ${machine}\n\n${table}\n`);
  await writeFile(benchOut(), JSON.stringify({ date: new Date().toISOString(), machine, [key]: rows }, null, 2));
  process.stdout.write(`\nwrote ${benchOut()}\n`);
}
