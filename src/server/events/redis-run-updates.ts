import type { Redis } from "ioredis";
import type { LiveSource, LiveSubscription } from "../runs/live-tail.js";
import type { RunRecord } from "../store/types.js";
import { RunUpdateHub } from "./local-run-events.js";

/**
 * Every run's updates go on this pub/sub channel. Plain PUBLISH/SUBSCRIBE loses what is
 * published while a subscriber is cut off, which is fine for run updates: a runUpdated
 * subscription starts with the run's current state, read from the store.
 */
export const RUN_UPDATES_CHANNEL = "dcgan:run-updates";

/** JSON: dates as ISO strings, the config as an object. */
export function encodeRun(run: RunRecord): string {
  return JSON.stringify(run);
}

export function decodeRun(message: string): RunRecord {
  // The dates are ISO strings here, whatever the type says; Date takes either.
  const run = JSON.parse(message) as RunRecord;
  const date = (value: Date | null) => (value === null ? null : new Date(value));
  return { ...run, createdAt: new Date(run.createdAt), queuedAt: new Date(run.queuedAt), startedAt: date(run.startedAt), finishedAt: date(run.finishedAt) };
}

/**
 * This process's run updates from Redis: one subscriber connection for the whole process,
 * each message decoded once and fanned out by run id and ALL_RUNS, as on one machine.
 */
export class RedisRunUpdates implements LiveSource<RunRecord> {
  private readonly hub: RunUpdateHub;
  /** Resolves once the channel is subscribed: what is published from then on reaches the hub. */
  private readonly subscribed: Promise<void>;

  /**
   * @param subscriber a connection of its own: a subscribed one takes no other command
   * @param bound events a subscription may hold unread before it fails with SubscriberTooSlowError
   */
  constructor(
    private readonly subscriber: Redis,
    bound: number,
    onError: (err: unknown) => void,
  ) {
    this.hub = new RunUpdateHub(bound);
    subscriber.on("message", (_channel: string, message: string) => this.hub.publishRun(decodeRun(message)));
    // ioredis subscribes again by itself after a reconnect. This fails only once closed.
    this.subscribed = subscriber.subscribe(RUN_UPDATES_CHANNEL).then(() => undefined, onError);
  }

  subscribe(key: string): LiveSubscription<RunRecord> {
    return Object.assign(this.hub.subscribe(key), { ready: this.subscribed });
  }

  async close(): Promise<void> {
    await this.subscriber.quit();
  }
}
