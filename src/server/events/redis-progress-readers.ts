import { setTimeout as delay } from "node:timers/promises";
import type { Redis } from "ioredis";
import { Subscription } from "../runs/event-hub.js";
import type { LiveSource, LiveSubscription } from "../runs/live-tail.js";
import { decodeEntry, progressStreamKey, type StreamEntry } from "./redis-progress-stream.js";
import type { ProgressEvent } from "./run-events.js";

/** Entries one XREAD returns at most. */
const READ_COUNT = 1000;
/**
 * How long one XREAD waits for an entry before the reader asks again; a reader's
 * connection that stays silent longer than SILENT_MS is taken for dead (its Redis host
 * gone without closing it): ioredis reconnects and sends the XREAD again.
 */
const BLOCK_MS = 5000;
const SILENT_MS = BLOCK_MS + 5000;
/** How long a reader waits before retrying a command Redis refused (connection losses are ioredis's to retry). */
const RETRY_MS = 1000;

class ReaderSubscription extends Subscription<ProgressEvent> implements LiveSubscription<ProgressEvent> {
  constructor(
    bound: number,
    onClose: () => void,
    readonly ready: Promise<void>,
  ) {
    super(bound, onClose);
  }
}

/**
 * This process's live progress from Redis: per run, one reader (a connection of its own,
 * blocked in XREAD on the run's stream) however many subscribers the run has here, from
 * the first subscriber to the last. Each entry is decoded once and that object pushed to
 * every subscriber: live-tail.ts shares serialization by that identity.
 */
export class ProgressReaders implements LiveSource<ProgressEvent> {
  private readonly readers = new Map<string, ProgressReader>();

  /**
   * @param redis duplicated for each reader: a blocked XREAD holds its connection
   * @param bound events a subscription may hold unread before it fails with SubscriberTooSlowError
   */
  constructor(
    private readonly redis: Redis,
    private readonly bound: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  subscribe(runId: string): LiveSubscription<ProgressEvent> {
    return (this.readers.get(runId) ?? this.startReader(runId)).subscribe(this.bound);
  }

  /** Stops every reader; their subscriptions end. */
  close(): void {
    for (const reader of this.readers.values()) reader.stop();
  }

  private startReader(runId: string): ProgressReader {
    const connection = this.redis.duplicate({ socketTimeout: SILENT_MS });
    connection.on("error", this.onError);
    const reader = new ProgressReader(connection, runId, this.onError, () => {
      if (this.readers.get(runId) === reader) this.readers.delete(runId);
    });
    this.readers.set(runId, reader);
    return reader;
  }
}

class ProgressReader {
  private readonly subscribers = new Set<ReaderSubscription>();
  private readonly key: string;
  /** Resolves once the reader's start position is fixed (or it stopped first). */
  private readonly ready: Promise<void>;
  private stopped = false;

  constructor(
    private readonly connection: Redis,
    private readonly runId: string,
    private readonly onError: (err: unknown) => void,
    private readonly onStop: () => void,
  ) {
    this.key = progressStreamKey(runId);
    // The stream's last entry is where reading starts: entries up to it are in the
    // stream, and so in recentProgress and the history; those after it come here.
    this.ready = this.command(() => this.connection.xrevrange(this.key, "+", "-", "COUNT", 1)).then((top) => {
      if (top) void this.follow(top[0]?.[0] ?? "0-0");
    });
  }

  subscribe(bound: number): ReaderSubscription {
    const subscription = new ReaderSubscription(
      bound,
      () => {
        this.subscribers.delete(subscription);
        if (this.subscribers.size === 0) this.stop();
      },
      this.ready,
    );
    this.subscribers.add(subscription);
    return subscription;
  }

  /** Closes the connection (a blocked XREAD with it); every subscription ends after what it buffered. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.onStop();
    for (const subscription of this.subscribers) subscription.end();
    this.connection.disconnect();
  }

  /**
   * Reads on after `lastId` until the end marker or stop. When Redis restarts, ioredis
   * sends the blocked XREAD again once reconnected: it still names the last entry read,
   * so nothing is lost or read twice.
   */
  private async follow(lastId: string): Promise<void> {
    while (!this.stopped) {
      const reply = await this.command(() => this.connection.xread("COUNT", READ_COUNT, "BLOCK", BLOCK_MS, "STREAMS", this.key, lastId));
      for (const entry of (reply?.[0]?.[1] ?? []) as StreamEntry[]) {
        lastId = entry[0];
        const metrics = decodeEntry(entry);
        if (!metrics) return this.stop();
        const event: ProgressEvent = { ...metrics, runId: this.runId };
        for (const subscription of this.subscribers) subscription.push(event);
      }
    }
  }

  /** `command`'s reply; retried while Redis refuses it; undefined once stopped. */
  private async command<T>(command: () => Promise<T>): Promise<T | undefined> {
    while (!this.stopped) {
      try {
        return await command();
      } catch (err) {
        if (this.stopped) break;
        this.onError(err);
        await delay(RETRY_MS);
      }
    }
    return undefined;
  }
}
