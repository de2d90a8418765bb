import { describe, expect, it } from "vitest";
import { EventHub, SubscriberTooSlowError } from "../src/server/runs/event-hub.js";
import { isLiveTailEvent, liveTail } from "../src/server/runs/live-tail.js";

interface Tick {
  n: number;
}

/** A key's events as a run's are: published live and stored, the store lagging behind. */
function ticks(bound = 100) {
  const hub = new EventHub<Tick>(bound);
  const stored: Tick[] = [];
  let n = 0;
  const publish = () => {
    const tick = { n: ++n };
    stored.push(tick);
    hub.publish("k", tick);
  };
  return { hub, stored, publish };
}

async function read(stream: AsyncGenerator<Tick>, count: number): Promise<Tick[]> {
  const events: Tick[] = [];
  while (events.length < count) {
    const next = await stream.next();
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

describe("a live tail", () => {
  it("replays the history after `after`, then live events, each exactly once and in order, though events keep arriving while the replay ends", async () => {
    const { hub, stored, publish } = ticks();
    for (let i = 0; i < 7; i++) publish();
    let pages = 0;
    const stream = liveTail<Tick>({
      source: hub,
      key: "k",
      after: 2,
      pageSize: 3,
      // Training goes on while the first pages are read: one event before each read (in
      // the page and buffered live), one after it (buffered live only).
      history: async (after, limit) => {
        const training = ++pages <= 3;
        if (training) publish();
        const page = stored.filter((t) => t.n > after).slice(0, limit).map((t) => ({ ...t }));
        if (training) publish();
        return page;
      },
      ended: async () => false,
      position: (t) => t.n,
    });
    const events: Tick[] = [];
    for (let next = await stream.next(); !next.done; next = await stream.next()) {
      events.push(next.value);
      // The replay has ended: the history's last page was short.
      if (events.length === 11) for (let i = 0; i < 5; i++) publish();
      if (next.value.n === 18) break;
    }
    expect(pages).toBe(4);
    expect(events.map((t) => t.n)).toEqual(Array.from({ length: 16 }, (_, i) => i + 3));
    // Replayed events are the reader's own; live ones are the objects published, marked.
    expect(events.filter(isLiveTailEvent).every((t) => stored.includes(t))).toBe(true);
    expect(events.filter((t) => !isLiveTailEvent(t)).every((t) => !stored.includes(t))).toBe(true);
    expect(events.filter(isLiveTailEvent).length).toBeGreaterThan(0);
    await stream.return(undefined);
  });

  it("gives every reader, whatever `after` it started from, the same live objects once caught up", async () => {
    const { hub, stored, publish } = ticks();
    for (let i = 0; i < 5; i++) publish();
    const streams = [0, 2, 4].map((after) =>
      liveTail<Tick>({ source: hub, key: "k", after, history: async (from) => stored.filter((t) => t.n > from).map((t) => ({ ...t })), ended: async () => false, position: (t) => t.n }),
    );
    const replays = await Promise.all(streams.map((s, i) => read(s, [5, 3, 1][i]!)));
    expect(replays.map((r) => r.map((t) => t.n))).toEqual([[1, 2, 3, 4, 5], [3, 4, 5], [5]]);
    for (let i = 0; i < 3; i++) publish();
    const lives = await Promise.all(streams.map((s) => read(s, 3)));
    for (const live of lives) for (const [i, t] of live.entries()) expect(t).toBe(stored[5 + i]);
    for (const s of streams) await s.return(undefined);
  });

  it("tells a reader whose buffer overflowed the last position it was sent, as `after`", async () => {
    const { hub, stored, publish } = ticks(2);
    publish();
    const stream = liveTail<Tick>({ source: hub, key: "k", after: 0, history: async (from) => stored.filter((t) => t.n > from), ended: async () => false, position: (t) => t.n });
    expect((await read(stream, 1)).map((t) => t.n)).toEqual([1]);
    publish();
    expect((await read(stream, 1)).map((t) => t.n)).toEqual([2]);
    for (let i = 0; i < 3; i++) publish();
    const failure = await stream.next().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(SubscriberTooSlowError);
    expect(failure).toMatchObject({ bound: 2, after: 2, message: "more than 2 events waited for this subscriber" });
  });

  it("ends after the history when the key has ended already", async () => {
    const { hub, stored, publish } = ticks();
    for (let i = 0; i < 3; i++) publish();
    const stream = liveTail<Tick>({ source: hub, key: "k", after: 1, history: async (from) => stored.filter((t) => t.n > from), ended: async () => true, position: (t) => t.n });
    expect((await read(stream, 10)).map((t) => t.n)).toEqual([2, 3]);
  });
});
