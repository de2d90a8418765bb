import type { Redis } from "ioredis";
import { hostname } from "node:os";
import type { Store } from "../store/store.js";
import { listWorkers, type WorkerInfo } from "./worker-registry.js";

/** The trainers `Query.workers` lists. */
export interface WorkersList {
  list(): Promise<WorkerInfo[]>;
}

/** Distributed: the workers whose heartbeats Redis holds. */
export function redisWorkersList(redis: Redis): WorkersList {
  return { list: () => listWorkers(redis) };
}

/** One server that trains its own runs: itself, always alive. */
export function localWorkersList(store: Store, concurrency: number, backend: () => Promise<{ name: string; detail: string }>): WorkersList {
  const startedAt = new Date();
  return {
    list: async () => {
      const [{ name, detail }, training] = await Promise.all([backend(), store.runsWithStatus(["RUNNING", "STOPPING"])]);
      const self: WorkerInfo = {
        id: `${hostname()}:${process.pid}`,
        host: hostname(),
        backend: name,
        backendDetail: detail,
        concurrency,
        runIds: training.map((r) => r.id),
        startedAt,
        lastHeartbeat: new Date(),
      };
      return [self];
    },
  };
}
