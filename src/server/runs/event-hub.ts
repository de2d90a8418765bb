/** Thrown by a subscription whose reader fell more than its buffer's bound behind. */
export class SubscriberTooSlowError extends Error {
  /**
   * @param after where a new subscription continues without a gap (the position of the
   *   last event delivered), when the reader knows it (see live-tail.ts)
   */
  constructor(
    readonly bound: number,
    readonly after?: number,
  ) {
    super(`more than ${bound} events waited for this subscriber`);
    this.name = "SubscriberTooSlowError";
  }
}

/**
 * In-process publish/subscribe by key. Unlike a lazily started async iterator, a
 * subscription buffers from the moment `subscribe` returns, so a subscriber that
 * first reads history and then goes live cannot miss what was published between.
 * Each buffer is bounded: a reader that falls behind is dropped, not the publisher slowed.
 */
export class EventHub<T> {
  private readonly subscribers = new Map<string, Set<Subscription<T>>>();

  /** @param bound events a subscription may hold unread before it fails with SubscriberTooSlowError */
  constructor(private readonly bound: number) {}

  publish(key: string, event: T): void {
    for (const s of this.subscribers.get(key) ?? []) s.push(event);
  }

  /** Ends every subscription of `key` (e.g. when a run finishes). */
  close(key: string): void {
    for (const s of this.subscribers.get(key) ?? []) s.end();
    this.subscribers.delete(key);
  }

  subscribe(key: string): Subscription<T> {
    const set = this.subscribers.get(key) ?? new Set();
    this.subscribers.set(key, set);
    const subscription = new Subscription<T>(this.bound, () => {
      set.delete(subscription);
      if (set.size === 0 && this.subscribers.get(key) === set) this.subscribers.delete(key);
    });
    set.add(subscription);
    return subscription;
  }
}

export class Subscription<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting?: (result: IteratorResult<T>) => void;
  private ended = false;
  /** Set when the buffer overflowed; the next read throws it, once. */
  private failure?: SubscriberTooSlowError;

  constructor(
    private readonly bound: number,
    private readonly onClose: () => void,
  ) {}

  push(event: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
    } else if (this.queue.length >= this.bound) {
      // Dropping what is buffered frees the memory now; the reader learns where it stood.
      this.queue.length = 0;
      this.failure = new SubscriberTooSlowError(this.bound);
      this.end();
    } else this.queue.push(event);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onClose();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.failure = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
