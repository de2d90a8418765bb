import { hostname } from "node:os";
import type { Redis } from "ioredis";

/** A trainer as `Query.workers` lists it. */
export interface WorkerInfo {
  id: string;
  host: string;
  /** The backend its runs train on by default (AUTO's choice there), and on what (the GPU's name, the CPU's threads). */
  backend: string;
  backendDetail: string;
  /** Runs it trains at once, at most. */
  concurrency: number;
  /** Runs it trains now. */
  runIds: string[];
  startedAt: Date;
  lastHeartbeat: Date;
}

/** Where the workers list lives: one hash, a field per worker. */
const WORKERS_KEY = "dcgan:workers";

/** How often a worker says it is alive; one silent for three of these is gone. */
export const HEARTBEAT_MS = 5000;
const GONE_AFTER_MS = 3 * HEARTBEAT_MS;

/** A unique id for this process's worker. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${Date.now().toString(36)}`;
}

/** Writes this worker's entry now, every HEARTBEAT_MS, and on `beat` (when its runs change); removes it on stop. */
export function startHeartbeat(redis: Redis, describe: () => Omit<WorkerInfo, "lastHeartbeat">, onError: (err: unknown) => void): { beat(): void; stop(): Promise<void> } {
  const beat = () => {
    const info = describe();
    void redis.hset(WORKERS_KEY, info.id, JSON.stringify({ ...info, lastHeartbeat: new Date() })).catch(onError);
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  return {
    beat,
    stop: async () => {
      clearInterval(timer);
      await redis.hdel(WORKERS_KEY, describe().id).catch(onError);
    },
  };
}

/** The workers that have beaten within GONE_AFTER_MS, by host then id; entries of gone ones are removed. */
export async function listWorkers(redis: Redis, now = Date.now()): Promise<WorkerInfo[]> {
  const entries = await redis.hgetall(WORKERS_KEY);
  const workers: WorkerInfo[] = [];
  for (const [id, json] of Object.entries(entries)) {
    const raw = JSON.parse(json) as WorkerInfo & { startedAt: string; lastHeartbeat: string };
    const info = { ...raw, startedAt: new Date(raw.startedAt), lastHeartbeat: new Date(raw.lastHeartbeat) };
    if (now - info.lastHeartbeat.getTime() > GONE_AFTER_MS) await redis.hdel(WORKERS_KEY, id);
    else workers.push(info);
  }
  return workers.sort((a, b) => a.host.localeCompare(b.host) || a.id.localeCompare(b.id));
}
