/** The signals that ask a process to stop: Ctrl-C, and `kill`'s default (service managers, `docker stop`). */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * A terminal's Ctrl-C reaches every process in the foreground group, and npm (`npm start`,
 * `npx`) forwards it to its child as well: where `sh -c` execs the command (bash does, so
 * on macOS and Fedora), one key press arrives twice within milliseconds. Repeats within
 * this window are that same press, not a second one.
 */
const SAME_PRESS_MS = 1000;

export interface StopHandlers {
  /** The first signal: stop cleanly, at the next point where nothing is lost. */
  stop(signal: NodeJS.Signals): void;
  /** A later one (Ctrl-C pressed again): the user will not wait for a clean stop. */
  quit(signal: NodeJS.Signals): void;
}

/** Installs the handlers for SIGINT and SIGTERM; returns the function that removes them. */
export function onStopSignals(handlers: StopHandlers): () => void {
  let firstAt: number | undefined;
  const handle = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (firstAt === undefined) {
      firstAt = now;
      handlers.stop(signal);
    } else if (now - firstAt > SAME_PRESS_MS) {
      handlers.quit(signal);
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handle);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, handle);
  };
}
