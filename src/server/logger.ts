import { pino, type Logger } from "pino";

/** One JSON line per event that matters, to stdout. */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: undefined });
}
