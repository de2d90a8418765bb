/**
 * File writes that go on while training continues: PNG encoding and fsync run on
 * libuv's thread pool (the second core), so the training thread only hands them over.
 * Writes run one at a time, in order. The first failure is rethrown by the next `add`,
 * `check` or `drain`, so a full disk still ends the run, one iteration later.
 */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private failure: { error: unknown } | undefined;

  /** `maxWaiting` bounds the snapshots held in memory when the disk is slower than training. */
  constructor(private readonly maxWaiting = 2) {}

  async add(write: () => Promise<void>): Promise<void> {
    this.check();
    if (this.waiting >= this.maxWaiting) await this.tail;
    this.check();
    this.waiting++;
    this.tail = this.tail
      .then(() => (this.failure ? undefined : write()))
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.waiting--;
      });
  }

  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Waits for every write; rethrows the first failure. */
  async drain(): Promise<void> {
    await this.tail;
    this.check();
  }

  /** Waits for every write, ignoring failures: for cleanup after another error. */
  settle(): Promise<void> {
    return this.tail;
  }
}
