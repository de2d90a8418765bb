import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from "graphql";
import { isLiveTailEvent, LIVE_TAIL_POSITION_ARGUMENT } from "../runs/live-tail.js";
import { operationKey, operationShape } from "./operation-shape.js";
import type { SharedFrames } from "./shared-frames.js";

/**
 * graphql-js's `subscribe`, except that subscriptions share the execution of each event
 * they all receive: an iteration streamed to a thousand subscribers of one run is
 * resolved once, not a thousand times. Events are told apart by identity (the hub
 * publishes one object per iteration, and the results cached for it go when it is
 * garbage). A live tail's event (runs/live-tail.ts) is shared by every subscription of
 * the same shape, whatever `after` each sent; any other event by those with the same
 * operation and variables; a replay's events are each subscriber's own. Each shared
 * result is handed to `frames`, which serializes it once for all.
 */
export function sharedSubscribe(frames?: SharedFrames): (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  return async (args) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    // Both keys now, not at the first event: a thousand subscribers computing theirs when
    // the first live iteration arrives would hold it up for all of them.
    const operation = operationKey(args);
    const shape = operationShape(args, LIVE_TAIL_POSITION_ARGUMENT);
    const executeFor = (event: unknown): Promise<ExecutionResult> => {
      const run = () => Promise.resolve(execute({ ...args, rootValue: event }));
      if (typeof event !== "object" || event === null) return run();
      const key = isLiveTailEvent(event) ? shape : operation;
      const byOperation = results.get(event) ?? new Map<string, Promise<ExecutionResult>>();
      results.set(event, byOperation);
      let result = byOperation.get(key);
      if (!result) {
        result = run().then((executed) => {
          frames?.share(executed);
          return executed;
        });
        byOperation.set(key, result);
      }
      return result;
    };
    return mapEvents(source[Symbol.asyncIterator](), executeFor);
  };
}

/** `source` with each event executed; ending it early ends the source, started or not. */
function mapEvents(source: AsyncIterator<unknown>, executeFor: (event: unknown) => Promise<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
  const end = async (): Promise<IteratorResult<ExecutionResult>> => {
    await source.return?.();
    return { value: undefined, done: true };
  };
  return {
    next: async () => {
      const next = await source.next();
      return next.done ? { value: undefined, done: true } : { value: await executeFor(next.value), done: false };
    },
    return: end,
    throw: async (error: unknown) => {
      await end();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
