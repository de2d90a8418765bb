import type { Command } from "commander";
import { integerOption, maxStallsOption, stallTimeoutOption } from "../server/settings.js";
import type { RunAction } from "./errors.js";

export interface WorkerOptions {
  databaseUrl?: string;
  redisUrl?: string;
  dataDir: string;
  dataRoots?: string;
  concurrency: number;
  stallTimeoutMs: number;
  maxStalls: number;
}

export function addWorkerCommand(program: Command, run: RunAction, env: NodeJS.ProcessEnv = process.env): void {
  program
    .command("worker")
    .description("train runs that API replicas queue, from PostgreSQL, Redis and a shared data folder (see the README's Scaling out)")
    .option("--database-url <url>", "the deployment's PostgreSQL (DATABASE_URL)", env.DATABASE_URL)
    .option("--redis-url <url>", "the deployment's Redis (REDIS_URL)", env.REDIS_URL)
    .option("--data-dir <dir>", "the artifact folder every replica and worker shares, e.g. an NFS mount (DATA_DIR)", env.DATA_DIR ?? "data")
    .option("--data-roots <dirs>", "colon-separated folders that dataset paths must lie in (DATA_ROOTS; default: <data-dir>:/usr/share/datasets)", env.DATA_ROOTS)
    .option(...integerOption(env, "concurrency", "WORKER_CONCURRENCY", "runs trained at once, e.g. one per GPU", 1, 1))
    .option(...stallTimeoutOption(env))
    .option(...maxStallsOption(env))
    .action(
      run(async (options: WorkerOptions) => {
        // The server's modules (Prisma, BullMQ) load for this command only: `dcgan train` stays quick to start.
        const { runWorker } = await import("../server/workers/worker-main.js");
        await runWorker(options);
      }),
    );
}
