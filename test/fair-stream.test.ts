import { describe, expect, it } from "vitest";
import { fairStream } from "../src/server/graphql/fair-stream.js";

async function* ready(count: number): AsyncGenerator<number> {
  for (let i = 1; i <= count; i++) yield i;
}

describe("fair streams", () => {
  it("deliver every event in order, letting the event loop turn while events are ready at once", async () => {
    const order: string[] = [];
    // Another client's work, waiting for the event loop's next turn.
    setImmediate(() => order.push("other work"));
    for await (const event of fairStream(ready(100))) order.push(String(event));
    const numbers = order.filter((entry) => entry !== "other work").map(Number);
    expect(numbers).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // It ran after at most one turn's worth of events, long before the last.
    expect(order.indexOf("other work")).toBeGreaterThan(0);
    expect(order.indexOf("other work")).toBeLessThanOrEqual(32);
  });
});
