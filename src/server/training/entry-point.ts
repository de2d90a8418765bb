import { fileURLToPath } from "node:url";

/** From source (tests, tsx) the modules are TypeScript and need tsx's loader. */
const FROM_SOURCE = import.meta.url.endsWith(".ts");

/**
 * How to run a module of this package in its own Node process: its file (`path`,
 * relative to this folder and without extension) as this build has it, and the Node
 * options it needs.
 */
export function entryPoint(path: string): { file: string; execArgv: string[] } {
  return {
    file: fileURLToPath(new URL(`${path}.${FROM_SOURCE ? "ts" : "js"}`, import.meta.url)),
    execArgv: FROM_SOURCE ? ["--import", "tsx"] : [],
  };
}
