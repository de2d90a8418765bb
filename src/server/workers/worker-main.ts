// `dcgan worker`: a training worker of a distributed deployment (README: Scaling out).
import { resolve } from "node:path";
import { ALL_CORES } from "../../engine/backends/threads.js";
import type { WorkerOptions } from "../../cli/worker.js";
import { onStopSignals } from "../../process/stop-signals.js";
import { RedisRunEvents } from "../events/redis-run-events.js";
import { createLogger } from "../logger.js";
import { RunStates } from "../runs/run-states.js";
import { SystemFacts } from "../runs/system-facts.js";
import { DEFAULT_LIMITS, dataRootsFrom, stallSettings } from "../settings.js";
import { dialectOf } from "../store/dialect.js";
import { migrateDatabase } from "../store/migrate.js";
import { Store } from "../store/store.js";
import { TrainingWorker } from "./training-worker.js";

/**
 * A worker machine trains and serves nothing else, so its runs share every core; the
 * server's default leaves one to itself (serviceThreads).
 */
export function workerThreads(concurrency: number, cores = ALL_CORES): number {
  return Math.max(1, Math.floor(cores / concurrency));
}

/** Connects to the deployment, takes runs until SIGINT/SIGTERM, then hands its runs back to the queue. */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const { databaseUrl, redisUrl } = options;
  if (!databaseUrl || !redisUrl) {
    process.stderr.write("dcgan: worker needs --database-url (DATABASE_URL) and --redis-url (REDIS_URL): the deployment's PostgreSQL and Redis\n");
    process.exit(1);
  }
  if (dialectOf(databaseUrl) !== "postgresql") {
    // SQLite is one machine's file: workers elsewhere cannot reach it, and several writers contend for its lock.
    process.stderr.write(`dcgan: worker needs a PostgreSQL DATABASE_URL (postgresql://...), not ${databaseUrl}\n`);
    process.exit(1);
  }
  const logger = createLogger();
  const dataDir = resolve(options.dataDir);
  await migrateDatabase(databaseUrl);
  const store = await Store.open(databaseUrl);
  // A worker publishes only; the bound is for subscribers, which it has none of.
  const events = new RedisRunEvents(redisUrl, DEFAULT_LIMITS.subscriberBuffer, (err) => logger.warn({ err }, "Redis connection error"));
  const system = new SystemFacts(logger);
  const worker = new TrainingWorker({
    context: { store, events, states: new RunStates(store, events), dataDir, dataRoots: dataRootsFrom(options.dataRoots, dataDir), logger },
    redisUrl,
    concurrency: options.concurrency,
    threads: workerThreads(options.concurrency),
    stalls: stallSettings(options),
    backend: await system.autoBackend(),
  });
  process.stdout.write(`DCGAN worker ${worker.id}: taking up to ${options.concurrency} run(s) from ${new URL(redisUrl).host}\n`);
  onStopSignals({
    stop: (signal) => {
      logger.info({ signal }, "worker stopping: its runs stop at an iteration boundary and go back to the queue (Ctrl-C again to quit at once)");
      void (async () => {
        await worker.close();
        await events.close();
        await store.close();
        process.exit(0);
      })().catch((err: unknown) => {
        logger.error({ err }, "worker shutdown failed");
        process.exit(1);
      });
    },
    quit: (signal) => {
      // Its runs are taken over by another worker once their locks lapse.
      logger.warn({ signal }, "quitting without waiting for runs to reach an iteration boundary");
      process.exit(130);
    },
  });
}
