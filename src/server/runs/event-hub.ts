/**
 * In-process publish/subscribe by key. Unlike a lazily started async iterator, a
 * subscription buffers from the moment `subscribe` returns, so a subscriber that
 * first reads history and then goes live cannot miss what was published between.
 */
export class EventHub<T> {
  private readonly subscribers = new Map<string, Set<Subscription<T>>>();

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
    const subscription = new Subscription<T>(() => {
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

  constructor(private readonly onClose: () => void) {}

  push(event: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
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
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
