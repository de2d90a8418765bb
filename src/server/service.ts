// type-graphql reads decorator metadata through Reflect; it must exist before any schema class.
import "reflect-metadata";
import { Redis } from "ioredis";
import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import { startHttpServer } from "./app.js";
import { createRunEvents } from "./events/create-run-events.js";
import type { RunEvents } from "./events/run-events.js";
import { isLoopback } from "./http/auth.js";
import { createSchema } from "./graphql/schema.js";
import { Generator } from "./runs/generator.js";
import { LocalRunQueue, serviceThreads } from "./runs/local-run-queue.js";
import type { TrainerContext } from "./runs/run-execution.js";
import type { RunQueue } from "./runs/run-queue.js";
import { RunService } from "./runs/run-service.js";
import { RunStates } from "./runs/run-states.js";
import { SystemFacts } from "./runs/system-facts.js";
import type { ServerSettings } from "./settings.js";
import { SweepService } from "./sweeps/sweep-service.js";
import { migrateDatabase } from "./store/migrate.js";
import { Store } from "./store/store.js";
import { BullmqRunQueue } from "./workers/bullmq-run-queue.js";
import { DEFAULT_STALL_SETTINGS } from "./workers/run-jobs.js";
import { TrainingWorker } from "./workers/training-worker.js";
import { localWorkersList, redisWorkersList, type WorkersList } from "./workers/workers-list.js";

export interface Service {
  url: string;
  runs: RunService;
  events: RunEvents;
  store: Store;
  /** Stops training (runs end INTERRUPTED, resumable; distributed, they go back to the queue), then the server and the database. */
  close(): Promise<void>;
}

/**
 * How runs get trained: without Redis, by this server itself (LocalRunQueue); with it,
 * by whichever worker takes them from BullMQ, this server among them unless its
 * training is off.
 */
async function trainingSetup(settings: ServerSettings, trainer: TrainerContext, system: SystemFacts): Promise<{ queue: RunQueue; workers: WorkersList; close(): Promise<void> }> {
  const { redisUrl, maxConcurrentRuns, training = true, stalls = DEFAULT_STALL_SETTINGS } = settings;
  const threads = serviceThreads(maxConcurrentRuns);
  if (!redisUrl) {
    if (!training) throw new Error("training off (TRAINING=off) needs REDIS_URL: without it, nothing else would train the runs");
    return { queue: new LocalRunQueue(trainer, maxConcurrentRuns), workers: localWorkersList(trainer.store, maxConcurrentRuns, () => system.autoBackend()), close: async () => {} };
  }
  const worker = training
    ? new TrainingWorker({ context: trainer, redisUrl, concurrency: maxConcurrentRuns, threads, stalls, backend: await system.autoBackend() })
    : undefined;
  const redis = new Redis(redisUrl);
  return {
    queue: new BullmqRunQueue(redisUrl),
    workers: redisWorkersList(redis),
    close: async () => {
      await worker?.close();
      await redis.quit();
    },
  };
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
  const events = createRunEvents(settings.redisUrl, settings.limits.subscriberBuffer, logger);
  const states = new RunStates(store, events);
  const system = new SystemFacts(logger);
  const trainer: TrainerContext = { store, events, states, dataDir: settings.dataDir, dataRoots: settings.dataRoots, logger };
  const training = await trainingSetup(settings, trainer, system);
  const generator = new Generator({ store, dataDir: settings.dataDir, limits: settings.limits, logger });
  const runs = new RunService({
    store,
    events,
    states,
    queue: training.queue,
    dataDir: settings.dataDir,
    dataRoots: settings.dataRoots,
    defaultThreads: serviceThreads(settings.maxConcurrentRuns),
    limits: settings.limits,
    system,
    logger,
    keepCheckpoints: settings.keepCheckpoints,
  });
  const sweeps = new SweepService({ store, runs, maxQueuedRuns: settings.limits.maxQueuedRuns, logger });
  await training.queue.start();
  const http = await startHttpServer({
    schema: await createSchema(),
    context: { runs, sweeps, events, generator, system, store, workers: training.workers, limits: settings.limits },
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
    events,
    store,
    close: async () => {
      await runs.shutdown();
      await training.close();
      await http.close();
      await events.close();
      await store.close();
    },
  };
}
