// type-graphql reads decorator metadata through Reflect; it must exist before any schema class.
import "reflect-metadata";
import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import { startHttpServer } from "./app.js";
import { isLoopback } from "./http/auth.js";
import { createSchema } from "./graphql/schema.js";
import { Generator } from "./runs/generator.js";
import { RunService } from "./runs/run-service.js";
import { SystemFacts } from "./runs/system-facts.js";
import type { ServerSettings } from "./settings.js";
import { migrateDatabase } from "./store/migrate.js";
import { Store } from "./store/store.js";

export interface Service {
  url: string;
  runs: RunService;
  store: Store;
  /** Stops training (runs end INTERRUPTED, resumable), then the server and the database. */
  close(): Promise<void>;
}

/** Migrates the database, recovers runs a previous process left, and starts serving. */
export async function startService(settings: ServerSettings, logger: Logger): Promise<Service> {
  if (!isLoopback(settings.host) && !settings.apiToken && !settings.allowInsecure) {
    throw new Error(
      `refusing to listen on ${settings.host} without API_TOKEN: anyone who can reach it could start runs. ` +
        "Set API_TOKEN, or pass --allow-insecure (ALLOW_INSECURE=1) if the network is trusted.",
    );
  }
  await mkdir(settings.dataDir, { recursive: true });
  await migrateDatabase(settings.databaseUrl);
  const store = await Store.open(settings.databaseUrl);
  const system = new SystemFacts(logger);
  const generator = new Generator({ store, dataDir: settings.dataDir, limits: settings.limits, logger });
  const runs = new RunService({
    store,
    dataDir: settings.dataDir,
    dataRoots: settings.dataRoots,
    maxConcurrentRuns: settings.maxConcurrentRuns,
    limits: settings.limits,
    system,
    logger,
  });
  await runs.recover();
  const http = await startHttpServer({
    schema: await createSchema(),
    context: { runs, generator, system, store, limits: settings.limits },
    dataDir: settings.dataDir,
    host: settings.host,
    port: settings.port,
    apiToken: settings.apiToken,
    allowedOrigins: settings.allowedOrigins,
    allowedHosts: settings.allowedHosts ?? [],
    logger,
  });
  return {
    url: http.url,
    runs,
    store,
    close: async () => {
      await runs.shutdown();
      await http.close();
      await store.close();
    },
  };
}
