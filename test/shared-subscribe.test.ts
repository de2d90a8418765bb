import { type DocumentNode, GraphQLInt, GraphQLObjectType, GraphQLSchema, type ExecutionResult, parse } from "graphql";
import { describe, expect, it } from "vitest";
import { EventHub } from "../src/server/runs/event-hub.js";
import { liveTail } from "../src/server/runs/live-tail.js";
import { operationShape } from "../src/server/ws/operation-shape.js";
import { sharedSubscribe } from "../src/server/ws/shared-subscribe.js";

/**
 * A schema whose `tick` subscription streams what `subscribe` gives (a hub's events by
 * default) and counts how often each event is resolved.
 */
function tickSchema(
  hub: EventHub<{ n: number }>,
  subscribe: (args: { after?: number }) => AsyncIterable<{ n: number }> = () => hub.subscribe("ticks"),
) {
  const resolved: number[] = [];
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: "Query", fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
    subscription: new GraphQLObjectType({
      name: "Subscription",
      fields: {
        tick: {
          type: GraphQLInt,
          args: { after: { type: GraphQLInt }, scale: { type: GraphQLInt } },
          subscribe: (_root, args: { after?: number }) => subscribe(args),
          resolve: (event: { n: number }, { scale }: { scale?: number }) => {
            resolved.push(event.n);
            return event.n * (scale ?? 1);
          },
        },
      },
    }),
  });
  return { schema, resolved };
}

async function take(stream: AsyncIterableIterator<ExecutionResult> | ExecutionResult, count: number): Promise<unknown[]> {
  const iterator = stream as AsyncIterableIterator<ExecutionResult>;
  const values: unknown[] = [];
  for (let i = 0; i < count; i++) values.push((await iterator.next()).value?.data);
  await iterator.return?.();
  return values;
}

describe("shared subscription execution", () => {
  it("resolves each published event once for all subscribers of the same operation, separately for other variables", async () => {
    const hub = new EventHub<{ n: number }>(100);
    const { schema, resolved } = tickSchema(hub);
    const subscribe = sharedSubscribe();
    const document = parse(`subscription ($scale: Int) { tick(scale: $scale) }`);
    const same = await Promise.all([1, 2, 3].map(() => subscribe({ schema, document, variableValues: { scale: 1 } })));
    const other = await subscribe({ schema, document, variableValues: { scale: 10 } });
    for (const n of [1, 2]) hub.publish("ticks", { n });
    const received = await Promise.all([...same, other].map((stream) => take(stream, 2)));
    expect(received).toEqual([...same.map(() => [{ tick: 1 }, { tick: 2 }]), [{ tick: 10 }, { tick: 20 }]]);
    // Two events: once each for the three alike, once each for the other.
    expect(resolved.sort()).toEqual([1, 1, 2, 2]);
  });

  it("ends the source when a subscriber leaves, even before its first event", async () => {
    const hub = new EventHub<{ n: number }>(100);
    const { schema } = tickSchema(hub);
    const stream = (await sharedSubscribe()({ schema, document: parse(`subscription { tick }`) })) as AsyncIterableIterator<ExecutionResult>;
    await stream.return?.();
    hub.publish("ticks", { n: 1 });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});

/** A schema whose `tick(after:)` is a live tail of a hub's events over `stored`, counting how often each is resolved. */
function tailSchema(hub: EventHub<{ n: number }>, stored: { n: number }[]) {
  return tickSchema(hub, ({ after }) =>
    liveTail({
      source: hub,
      key: "ticks",
      after,
      history: async (from) => stored.filter((t) => t.n > from).map((t) => ({ ...t })),
      ended: async () => false,
      position: (t) => t.n,
    }),
  );
}

describe("shared live tails", () => {
  it("give subscribers with different `after` every event once, in order, and execute each live event once per shape", async () => {
    const hub = new EventHub<{ n: number }>(100);
    const stored = [1, 2, 3, 4, 5].map((n) => ({ n }));
    const { schema, resolved } = tailSchema(hub, stored);
    const subscribe = sharedSubscribe();
    const byVariable = parse(`subscription ($after: Int) { tick(after: $after) }`);
    const aliased = parse(`subscription ($after: Int) { t: tick(after: $after) }`);
    const scaled = parse(`subscription ($after: Int, $scale: Int) { tick(after: $after, scale: $scale) }`);
    const subscribers: { document: DocumentNode; after: number; key: string; scale: number; variables?: { scale: number } }[] = [
      // One shape, whatever `after`: 12 viewers.
      ...Array.from({ length: 12 }, (_, i) => ({ document: byVariable, after: i % 6, key: "tick", scale: 1 })),
      ...[0, 4].map((after) => ({ document: aliased, after, key: "t", scale: 1 })),
      ...[1, 3].map((after) => ({ document: parse(`subscription { tick(after: ${after}) }`), after, key: "tick", scale: 1 })),
      // Another scale is another shape; the same scale, whatever `after`, is one.
      ...[0, 2].map((after) => ({ document: scaled, after, key: "tick", scale: 10, variables: { scale: 10 } })),
      { document: scaled, after: 5, key: "tick", scale: 2, variables: { scale: 2 } },
    ];
    const streams = await Promise.all(
      subscribers.map(async (s) => (await subscribe({ schema, document: s.document, variableValues: { after: s.after, ...s.variables } })) as AsyncIterableIterator<ExecutionResult>),
    );
    // Each replays what is stored after its `after`, then reads the live events 6 to 8.
    const reading = streams.map((stream, i) => take(stream, 8 - subscribers[i]!.after));
    await new Promise((resolve) => setImmediate(resolve));
    for (const n of [6, 7, 8]) hub.publish("ticks", { n });
    const received = await Promise.all(reading);
    for (const [i, s] of subscribers.entries()) {
      const expected = Array.from({ length: 8 - s.after }, (_, k) => ({ [s.key]: (s.after + k + 1) * s.scale }));
      expect(received[i]).toEqual(expected);
    }
    // Live events: once each per shape (by variable, aliased, literal, scale 10, scale 2),
    // not once per distinct set of variables (12 + 2 + 2 + 3 of them).
    expect(resolved.filter((n) => n > 5).sort()).toEqual([6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8]);
    // Replayed events: once each per subscriber that replayed them.
    expect(resolved.filter((n) => n <= 5).length).toBe(subscribers.reduce((sum, s) => sum + 5 - s.after, 0));
  });
});

describe("operation shapes", () => {
  const shape = (query: string, variableValues: Record<string, unknown> = {}) => operationShape({ schema: new GraphQLSchema({}), document: parse(query), variableValues }, "after");

  it("are the same whatever `after` says, in a variable or in the document", () => {
    const q = `subscription P($id: ID!, $after: Int) { runProgress(runId: $id, after: $after) { iteration lossD } }`;
    expect(shape(q, { id: "r", after: 1 })).toBe(shape(q, { after: 7, id: "r" }));
    expect(shape(q, { id: "r", after: 1 })).toBe(shape(q, { id: "r" }));
    expect(shape(`subscription { runProgress(runId: "r", after: 3) { iteration } }`)).toBe(shape(`subscription { runProgress(runId: "r", after: 9) { iteration } }`));
  });

  it("differ for anything else: fields, aliases, other arguments and variables, or a variable `after` shares with another argument", () => {
    const q = `subscription ($id: ID!, $after: Int) { runProgress(runId: $id, after: $after) { iteration } }`;
    const others = [
      shape(q, { id: "s", after: 1 }),
      shape(`subscription ($id: ID!, $after: Int) { runProgress(runId: $id, after: $after) { iteration lossD } }`, { id: "r", after: 1 }),
      shape(`subscription ($id: ID!, $after: Int) { p: runProgress(runId: $id, after: $after) { iteration } }`, { id: "r", after: 1 }),
      shape(`subscription ($id: ID!, $after: Int) { runProgress(runId: $id, after: $after) { iteration @include(if: true) } }`, { id: "r", after: 1 }),
    ];
    expect(new Set([shape(q, { id: "r", after: 1 }), ...others]).size).toBe(5);
    const shared = `subscription ($n: Int) { page(after: $n, first: $n) { id } }`;
    expect(shape(shared, { n: 1 })).not.toBe(shape(shared, { n: 2 }));
  });
});
