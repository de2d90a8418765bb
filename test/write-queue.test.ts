import { describe, expect, it } from "vitest";
import { WriteQueue } from "../src/engine/write-queue.js";

/** A write that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("the background write queue", () => {
  it("runs writes one at a time, in order, while the caller goes on", async () => {
    const queue = new WriteQueue(3);
    const log: string[] = [];
    const first = gate();
    await queue.add(async () => {
      log.push("first started");
      await first.opened;
      log.push("first done");
    });
    await queue.add(async () => {
      log.push("second");
    });
    log.push("caller went on");
    first.open();
    await queue.drain();
    expect(log).toEqual(["first started", "caller went on", "first done", "second"]);
  });

  it("makes the caller wait once maxWaiting writes are pending", async () => {
    const queue = new WriteQueue(1);
    const slow = gate();
    let finished = false;
    await queue.add(async () => {
      await slow.opened;
      finished = true;
    });
    let secondAccepted = false;
    const second = queue.add(async () => undefined).then(() => (secondAccepted = true));
    // Every pending microtask has run by the next macrotask: an unblocked add would have resolved.
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondAccepted).toBe(false);
    slow.open();
    await second;
    expect(finished).toBe(true);
    await queue.drain();
  });

  it("rethrows the first failure from the next add, check and drain, and skips later writes", async () => {
    const queue = new WriteQueue(1);
    let laterRan = false;
    await queue.add(async () => {
      throw new Error("disk full");
    });
    await expect(queue.add(async () => void (laterRan = true))).rejects.toThrow("disk full");
    expect(() => queue.check()).toThrow("disk full");
    await expect(queue.drain()).rejects.toThrow("disk full");
    await queue.settle();
    expect(laterRan).toBe(false);
  });
});
