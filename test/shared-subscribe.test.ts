import { GraphQLInt, GraphQLObjectType, GraphQLSchema, type ExecutionResult, parse } from "graphql";
import { describe, expect, it } from "vitest";
import { EventHub } from "../src/server/runs/event-hub.js";
import { sharedSubscribe } from "../src/server/ws/shared-subscribe.js";

/** A schema whose `tick` subscription streams a hub's events and counts how often they are resolved. */
function tickSchema(hub: EventHub<{ n: number }>) {
  const resolved: number[] = [];
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: "Query", fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
    subscription: new GraphQLObjectType({
      name: "Subscription",
      fields: {
        tick: {
          type: GraphQLInt,
          args: { scale: { type: GraphQLInt } },
          subscribe: () => hub.subscribe("ticks"),
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
