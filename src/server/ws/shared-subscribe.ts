import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult, print } from "graphql";

/**
 * graphql-js's `subscribe`, except that subscriptions with the same operation and
 * variables share the execution of each event they all receive: an iteration streamed
 * to a thousand subscribers of one run is resolved once, not a thousand times. Events
 * are told apart by identity (the hub publishes one object per iteration, and the
 * results cached for it go when it is garbage); a replay's events are each
 * subscriber's own and are executed for it alone.
 */
export function sharedSubscribe(): (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  return async (args) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const operation = `${args.operationName ?? ""}\n${print(args.document)}\n${JSON.stringify(args.variableValues ?? {})}`;
    const executeFor = (event: unknown): Promise<ExecutionResult> => {
      const run = () => Promise.resolve(execute({ ...args, rootValue: event }));
      if (typeof event !== "object" || event === null) return run();
      const byOperation = results.get(event) ?? new Map<string, Promise<ExecutionResult>>();
      results.set(event, byOperation);
      const result = byOperation.get(operation) ?? run();
      byOperation.set(operation, result);
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
