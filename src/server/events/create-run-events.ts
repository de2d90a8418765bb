import type { Logger } from "pino";
import { LocalRunEvents } from "./local-run-events.js";
import { RedisRunEvents } from "./redis-run-events.js";
import type { RunEvents } from "./run-events.js";

/** In-process on one machine; on Redis (REDIS_URL) when trainers and API replicas are separate processes. */
export function createRunEvents(redisUrl: string | undefined, subscriberBuffer: number, logger: Logger): RunEvents {
  return redisUrl ? new RedisRunEvents(redisUrl, subscriberBuffer, (err) => logger.warn({ err }, "Redis connection error")) : new LocalRunEvents(subscriberBuffer);
}
