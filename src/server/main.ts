#!/usr/bin/env node
import { createLogger } from "./logger.js";
import { startService } from "./service.js";
import { readSettings } from "./settings.js";

const logger = createLogger();
const service = await startService(readSettings(process.argv.slice(2)), logger);
process.stdout.write(`DCGAN service: dashboard at ${new URL("/", service.url).href}, GraphQL and GraphiQL at ${service.url}\n`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, "shutting down: interrupting runs at an iteration boundary");
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
