import { BackendUnavailableError } from "../engine/backends/index.js";
import { CheckpointError } from "../engine/checkpoint.js";
import { ConfigError } from "../engine/config.js";
import { DatasetError } from "../engine/data/dataset.js";
import { FileWriteError } from "../engine/files.js";
import { OutOfMemoryError } from "../engine/memory.js";
import { kebab } from "./args.js";

/** Errors a user caused and can fix: printed as one line, without a stack. */
const USER_ERRORS = [ConfigError, DatasetError, CheckpointError, BackendUnavailableError, FileWriteError, OutOfMemoryError];

export type RunAction = <A extends unknown[]>(action: (...args: A) => Promise<void>) => (...args: A) => Promise<void>;

/** Wraps a command's action: user errors become "dcgan: message" lines and exit status 1. */
export const runAction: RunAction =
  (action) =>
  async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      if (USER_ERRORS.some((type) => err instanceof type)) {
        // Every invalid flag at once, one line each, so that one try fixes them all.
        const lines = err instanceof ConfigError ? err.issues.map(({ field, detail }) => `--${kebab(field)}: ${detail}`) : [(err as Error).message];
        process.stderr.write(lines.map((line) => `dcgan: ${line}\n`).join(""));
        process.exit(1);
      }
      throw err;
    }
  };

