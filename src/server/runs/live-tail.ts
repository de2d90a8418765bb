import { SubscriberTooSlowError } from "./event-hub.js";

/** A key's live events, buffered from the moment `subscribe` returns (EventHub is one) or its `ready` resolves. */
export interface LiveSource<T> {
  subscribe(key: string): LiveSubscription<T>;
}

export interface LiveSubscription<T> extends AsyncIterableIterator<T> {
  /**
   * Resolves once the subscription's start position is fixed: every event published from
   * then on is buffered. Absent: fixed when `subscribe` returns. A source that learns its
   * position from elsewhere (a Redis Streams reader asking for the stream's last entry) has one.
   */
  ready?: Promise<void>;
  /** Ends the stream once what is buffered has been read. */
  end(): void;
  return(): Promise<IteratorResult<T>>;
}

export interface LiveTailOptions<T> {
  source: LiveSource<T>;
  key: string;
  /** Replay the stored events after this position first; absent: live events only. */
  after?: number | null;
  /**
   * Up to `limit` stored events after `after`, in order; fewer only when there are no
   * more yet. It must hold every event published before it is called, committed or not.
   */
  history(after: number, limit: number): Promise<T[]>;
  /** Whether the key has ended already (a finished run): then the stream ends after its history. */
  ended(): Promise<boolean>;
  /** An event's position: strictly increasing along the key's live events. */
  position(event: T): number;
  /** History is read this many events at a time, so a long one never sits in memory whole. */
  pageSize?: number;
}

/** The argument a live-tail subscription field takes `after` from (see ws/operation-shape.ts). */
export const LIVE_TAIL_POSITION_ARGUMENT = "after";

const DEFAULT_PAGE = 1000;

/** Events this module has handed out from a live source: the same objects for every subscriber. */
const liveEvents = new WeakSet<object>();

/**
 * Whether `event` came from a live tail: then every subscriber of its key got this very
 * object, whatever `after` it started from, and a field's result for it depends on the
 * event and the selection only, not on `after`. The WebSocket side executes and
 * serializes such an event once per operation shape (ws/shared-subscribe.ts).
 */
export function isLiveTailEvent(event: unknown): boolean {
  return typeof event === "object" && event !== null && liveEvents.has(event);
}

/**
 * A key's stored events after `after`, then its live ones: every event exactly once, in
 * order, with no gap and no duplicate at the seam; and once caught up, the same live
 * stream every other subscriber of the key reads, shared whatever `after` each started from.
 *
 * How that holds:
 * - The live subscription is opened first, and is ready (its start position fixed) before
 *   anything else is read, so every event published from then on is buffered for this
 *   reader, however long the history takes.
 * - `ended` is asked once it is ready: a key that ends in between still ends the stream.
 * - The history, read next, holds every event published before it is read; with the
 *   buffer, every event is in one or both.
 * - Live events at or below the last position sent are dropped (the history had them).
 * - A reader whose buffer overflowed gets SubscriberTooSlowError with `after`, the last
 *   position sent: subscribing again with it continues with the next event, exactly.
 * - Live events are passed on as the source published them, one object for all readers,
 *   and marked (isLiveTailEvent): the transport's sharing is keyed by that identity, so a
 *   source behind this seam (a Redis Streams reader) must read each entry once per key and
 *   fan that object out, not decode it once per reader. Replayed events are each reader's own.
 */
export async function* liveTail<T extends object>(options: LiveTailOptions<T>): AsyncGenerator<T> {
  const { history, position, pageSize = DEFAULT_PAGE } = options;
  const subscription = options.source.subscribe(options.key);
  let last = options.after ?? undefined;
  try {
    await subscription.ready;
    if (await options.ended()) subscription.end();
    if (last !== undefined) {
      for (;;) {
        const page = await history(last, pageSize);
        for (const event of page) {
          yield event;
          last = position(event);
        }
        if (page.length < pageSize) break;
      }
    }
    try {
      for await (const event of subscription) {
        const at = position(event);
        if (last !== undefined && at <= last) continue;
        last = at;
        liveEvents.add(event);
        yield event;
      }
    } catch (err) {
      if (err instanceof SubscriberTooSlowError) throw new SubscriberTooSlowError(err.bound, last);
      throw err;
    }
  } finally {
    await subscription.return();
  }
}
