import { createRequire } from "node:module";
import { Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../context.js";
import { datasetFromEngine } from "../enums.js";
import { SystemInfo } from "../types/system.js";
import { Worker } from "../types/worker.js";

const { version } = createRequire(import.meta.url)("../../../../package.json") as { version: string };

@Resolver()
export class SystemResolver {
  @Query(() => SystemInfo, { description: "Version, backends, and what is running and queued" })
  async system(@Ctx() { system, store, workers }: Context): Promise<SystemInfo> {
    const [queued, training, trainers, diskBytes] = await Promise.all([store.queuedRuns(), store.runsWithStatus(["RUNNING", "STOPPING"]), workers.list(), store.diskBytes()]);
    return {
      version,
      backends: await system.backends(),
      datasets: (await system.datasets()).map(datasetFromEngine),
      // Every trainer's at once: this server's MAX_CONCURRENT_RUNS, or the workers' --concurrency together.
      maxConcurrentRuns: trainers.reduce((sum, w) => sum + w.concurrency, 0),
      runningRunIds: training.map((r) => r.id),
      queuedRunIds: queued.map((r) => r.id),
      diskBytes,
    };
  }

  @Query(() => [Worker], { description: "The trainers connected now, by host" })
  async workers(@Ctx() { workers }: Context): Promise<Worker[]> {
    return (await workers.list()).map(Worker.from);
  }
}
