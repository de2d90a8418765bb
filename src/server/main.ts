#!/usr/bin/env node
import { onStopSignals } from "../process/stop-signals.js";
import { createLogger } from "./logger.js";
import { startService } from "./service.js";
import { readSettings } from "./settings.js";

const logger = createLogger();
const service = await startService(readSettings(process.argv.slice(2)), logger);
process.stdout.write(`DCGAN service: dashboard at ${new URL("/", service.url).href}, GraphQL and GraphiQL at ${service.url}\n`);

onStopSignals({
  stop: (signal) => {
    logger.info({ signal }, "shutting down: interrupting runs at an iteration boundary (Ctrl-C again to quit at once)");
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  },
  quit: (signal) => {
    // Nothing written is lost: the next start records checkpoint and sample files this process did not.
    logger.warn({ signal }, "quitting without waiting for runs to reach an iteration boundary");
    process.exit(130);
  },
});
