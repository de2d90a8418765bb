import { GraphQLError } from "graphql";
import { Arg, ID, Int, Resolver, Root, Subscription } from "type-graphql";
import { FINISHED_STATUSES, type RunRecord } from "../../store/types.js";
import { SubscriberTooSlowError } from "../../runs/event-hub.js";
import { liveTail } from "../../runs/live-tail.js";
import { ALL_RUNS, type ProgressEvent } from "../../events/run-events.js";
import type { Context } from "../context.js";
import { fairStream } from "../fair-stream.js";
import { InputError } from "../../input-error.js";
import { checkIds } from "../text-bounds.js";
import { IterationMetrics } from "../types/iteration-metrics.js";
import { Run } from "../types/run.js";

interface ProgressArgs {
  runId: string;
  after?: number | null;
}

/** Reads a live stream; a reader that fell too far behind gets an error saying how to catch up. */
async function* live<T>(stream: AsyncIterable<T>, hint: (after: number | undefined) => string): AsyncGenerator<T> {
  try {
    yield* stream;
  } catch (err) {
    if (!(err instanceof SubscriberTooSlowError)) throw err;
    const { after } = err;
    throw new GraphQLError(`this subscriber read too slowly: ${err.message}. ${hint(after)}`, {
      extensions: { code: "SUBSCRIBER_TOO_SLOW", ...(after === undefined ? {} : { after }) },
    });
  }
}

/** A run's stored iterations after `after`, then its live ones (live-tail.ts says how); ends when the run finishes. */
function progressStream({ runId, after }: ProgressArgs, { runs, events, store }: Context): AsyncGenerator<ProgressEvent> {
  const iterations = liveTail<ProgressEvent>({
    source: events.progress,
    key: runId,
    after,
    history: async (from, limit) => (await runs.storedProgress(runId, from, limit)).map((m) => ({ ...m, runId })),
    // A run deleted since its existence was checked has finished too.
    ended: async () => {
      const run = await store.getRun(runId);
      return !run || FINISHED_STATUSES.includes(run.status);
    },
    position: (event) => event.iteration,
  });
  return live(iterations, (last) => (last === undefined ? "Subscribe again." : `Subscribe again with after: ${last} to continue where it stopped.`));
}

/**
 * A run's updates, starting with its current state: a client that subscribes and then
 * waits for a status cannot miss a change made while its subscription was being set up.
 */
async function* runUpdates(runId: string | undefined, { events, store }: Context): AsyncGenerator<RunRecord> {
  const subscription = events.updates.subscribe(runId ?? ALL_RUNS);
  try {
    // Updates flow from here on (on Redis, once its channel is subscribed): only then is the current state read.
    await subscription.ready;
    if (runId !== undefined) {
      const current = await store.getRun(runId);
      if (current) yield current;
    }
    yield* live(subscription, () => "Subscribe again: the first update is the current state.");
  } finally {
    await subscription.return();
  }
}

async function existingRun(runId: string, { store }: Context): Promise<void> {
  checkIds({ runId });
  if (!(await store.getRun(runId))) throw new InputError("runId", `no run ${runId}`);
}

@Resolver()
export class ProgressResolver {
  @Subscription(() => IterationMetrics, {
    description:
      "Every training iteration of a run (Loss_D, Loss_G, D(x), D(G(z))); `after` replays stored ones first. " +
      "A subscriber that reads too slowly gets SUBSCRIBER_TOO_SLOW and resubscribes with `after`.",
    subscribe: async ({ args, context }) => {
      // Checked before the stream starts, so the client gets BAD_USER_INPUT, not a stream error.
      await existingRun((args as ProgressArgs).runId, context as Context);
      return fairStream(progressStream(args as ProgressArgs, context as Context));
    },
  })
  runProgress(
    @Root() event: ProgressEvent,
    @Arg("runId", () => ID) _runId: string,
    @Arg("after", () => Int, { nullable: true }) _after?: number,
  ): IterationMetrics {
    return IterationMetrics.from(event);
  }

  @Subscription(() => Run, {
    description: "One run's current state, then its status changes, new samples and checkpoints; or every run's changes",
    subscribe: async ({ args, context }) => {
      const runId = (args as { runId?: string | null }).runId ?? undefined;
      if (runId !== undefined) await existingRun(runId, context as Context);
      return fairStream(runUpdates(runId, context as Context));
    },
  })
  runUpdated(@Root() run: RunRecord, @Arg("runId", () => ID, { nullable: true }) _runId?: string): Run {
    return Run.from(run);
  }
}
