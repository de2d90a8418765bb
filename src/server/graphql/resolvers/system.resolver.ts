import { createRequire } from "node:module";
import { Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../context.js";
import { datasetFromEngine } from "../enums.js";
import { SystemInfo } from "../types/system.js";

const { version } = createRequire(import.meta.url)("../../../../package.json") as { version: string };

@Resolver()
export class SystemResolver {
  @Query(() => SystemInfo, { description: "Version, backends, and what is running and queued" })
  async system(@Ctx() { runs, system, store }: Context): Promise<SystemInfo> {
    const queued = await store.queuedRuns();
    return {
      version,
      backends: await system.backends(),
      datasets: (await system.datasets()).map(datasetFromEngine),
      maxConcurrentRuns: runs.maxConcurrentRuns,
      runningRunIds: runs.activeRunIds(),
      queuedRunIds: queued.map((r) => r.id),
    };
  }
}
