import { Redis } from "ioredis";
import type { IterationMetrics } from "../../engine/metrics.js";
import type { RunRecord } from "../store/types.js";
import { ProgressReaders } from "./redis-progress-readers.js";
import {
  END_FIELD,
  STREAM_MAX_ENTRIES,
  STREAM_TTL_S,
  type StreamEntry,
  decodeEntry,
  encodeMetrics,
  endMarkerId,
  iterationEntryId,
  progressStreamKey,
} from "./redis-progress-stream.js";
import { RUN_UPDATES_CHANNEL, RedisRunUpdates, encodeRun } from "./redis-run-updates.js";
import type { RunEvents } from "./run-events.js";

/** What Redis answers an XADD whose id is not above the stream's last one. */
const STALE_ID = "equal or smaller than the target stream top item";

/**
 * RunEvents on Redis, for API replicas and training workers on separate machines:
 * progress in a Redis Stream per run (redis-progress-stream.ts says how it lies there,
 * redis-progress-readers.ts how a process reads it live), run updates on pub/sub
 * (redis-run-updates.ts). While Redis restarts, ioredis reconnects and every command
 * waits for it (maxRetriesPerRequest: null): an iteration is published late, never dropped.
 */
export class RedisRunEvents implements RunEvents {
  readonly progress: ProgressReaders;
  readonly updates: RedisRunUpdates;
  /** Publishing and reading without blocking; readers and the updates subscriber have their own. */
  private readonly commands: Redis;

  /**
   * @param url REDIS_URL
   * @param subscriberBuffer ServiceLimits.subscriberBuffer: events a subscription may hold unread
   * @param onError Redis errors that do not fail a call: connection losses (ioredis
   *   reconnects) and commands a reader retries
   */
  constructor(url: string, subscriberBuffer: number, onError: (err: unknown) => void = reportOnStderr) {
    this.commands = new Redis(url, { maxRetriesPerRequest: null });
    this.commands.on("error", onError);
    this.progress = new ProgressReaders(this.commands, subscriberBuffer, onError);
    const subscriber = this.commands.duplicate();
    subscriber.on("error", onError);
    this.updates = new RedisRunUpdates(subscriber, subscriberBuffer, onError);
  }

  async publishProgress(runId: string, metrics: IterationMetrics): Promise<void> {
    try {
      await this.append(runId, iterationEntryId(metrics.iteration), encodeMetrics(metrics));
    } catch (err) {
      // A resumed run publishes again the iterations after its checkpoint, which the
      // stream holds already with the same values (training resumes exactly); so does
      // ioredis when it resends an XADD whose reply a restart lost. The entry there stands.
      if (!(err instanceof Error && err.message.includes(STALE_ID))) throw err;
    }
  }

  async recentProgress(runId: string, after: number): Promise<IterationMetrics[]> {
    const entries = (await this.commands.xrange(progressStreamKey(runId), `(${iterationEntryId(Math.max(after, 0))}`, "+")) as StreamEntry[];
    return entries.flatMap((entry) => decodeEntry(entry) ?? []);
  }

  /**
   * Nothing to do: the stream keeps stored iterations too. History reads recentProgress
   * only past the store's last page (progress-history.ts), so they cost little there;
   * MAXLEN bounds the stream and EXPIRE removes it. Trimming them would cut under a
   * reader that fell behind (a replica cut off from Redis for a moment): it would miss them.
   */
  async progressStored(): Promise<void> {}

  async endProgress(runId: string): Promise<void> {
    const [top] = (await this.commands.xrevrange(progressStreamKey(runId), "+", "-", "COUNT", 1)) as StreamEntry[];
    // After the stream's top entry, not this process's last iteration: a resumed run that
    // stopped before its previous last iteration added none.
    await this.append(runId, endMarkerId(top?.[0]), [END_FIELD, ""]);
  }

  async publishRun(run: RunRecord): Promise<void> {
    await this.commands.publish(RUN_UPDATES_CHANNEL, encodeRun(run));
  }

  async close(): Promise<void> {
    this.progress.close();
    await Promise.all([this.updates.close(), this.commands.quit()]);
  }

  /** XADD, and the stream's expiry renewed from now: a run that trains on keeps its stream. */
  private async append(runId: string, id: string, fields: string[]): Promise<void> {
    const key = progressStreamKey(runId);
    await Promise.all([this.commands.xadd(key, "MAXLEN", "~", STREAM_MAX_ENTRIES, id, ...fields), this.commands.expire(key, STREAM_TTL_S)]);
  }
}

function reportOnStderr(err: unknown): void {
  console.error("run events on Redis:", err);
}
