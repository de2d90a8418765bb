import { GraphQLError } from "graphql";
import { Arg, ID, Int, Resolver, Root, Subscription } from "type-graphql";
import { FINISHED_STATUSES, type RunRecord } from "../../store/types.js";
import { SubscriberTooSlowError, type Subscription as HubSubscription } from "../../runs/event-hub.js";
import type { ProgressEvent } from "../../runs/run-service.js";
import type { Context } from "../context.js";
import { userInput } from "../errors.js";
import { fairStream } from "../fair-stream.js";
import { InputError } from "../../input-error.js";
import { checkIds } from "../text-bounds.js";
import { IterationMetrics } from "../types/iteration-metrics.js";
import { Run } from "../types/run.js";

interface ProgressArgs {
  runId: string;
  after?: number | null;
}

/** Stored iterations are replayed in pages, so a long history never sits in memory whole. */
const REPLAY_PAGE = 1000;

/** Reads a live subscription; a reader that fell too far behind gets an error saying how to catch up. */
async function* live<T>(subscription: HubSubscription<T>, resume: () => { hint: string; after?: number }): AsyncGenerator<T> {
  try {
    yield* subscription;
  } catch (err) {
    if (!(err instanceof SubscriberTooSlowError)) throw err;
    const { hint, after } = resume();
    throw new GraphQLError(`this subscriber read too slowly: ${err.message}. ${hint}`, {
      extensions: { code: "SUBSCRIBER_TOO_SLOW", ...(after === undefined ? {} : { after }) },
    });
  }
}

/**
 * Live iterations of a run. With `after`, first the iterations after that number
 * that are already stored, then live ones: the live subscription starts before the
 * history is read, and iterations at or below the last one sent are dropped, so the
 * seam has neither a gap nor a duplicate. Ends when the run finishes.
 */
async function* progressStream({ runId, after }: ProgressArgs, { runs, store }: Context): AsyncGenerator<ProgressEvent> {
  // Subscribe before reading the status: a run that finishes in between still ends the stream.
  const subscription = runs.progress.subscribe(runId);
  try {
    // Existence was checked before the stream started; a run deleted since has finished too.
    const run = await store.getRun(runId);
    if (!run || FINISHED_STATUSES.includes(run.status)) subscription.end();
    let last = after ?? Number.POSITIVE_INFINITY;
    if (after !== undefined && after !== null) {
      for (;;) {
        const page = await runs.storedProgress(runId, last, REPLAY_PAGE);
        for (const m of page) {
          yield { ...m, runId };
          last = m.iteration;
        }
        if (page.length < REPLAY_PAGE) break;
      }
    }
    const resume = () =>
      last === Number.POSITIVE_INFINITY
        ? { hint: "Subscribe again." }
        : { hint: `Subscribe again with after: ${last} to continue where it stopped.`, after: last };
    for await (const event of live(subscription, resume)) {
      if (last === Number.POSITIVE_INFINITY) last = event.iteration - 1;
      if (event.iteration <= last) continue;
      last = event.iteration;
      yield event;
    }
  } finally {
    await subscription.return();
  }
}

/**
 * A run's updates, starting with its current state: a client that subscribes and then
 * waits for a status cannot miss a change made while its subscription was being set up.
 */
async function* runUpdates(runId: string | undefined, { runs, store }: Context): AsyncGenerator<RunRecord> {
  const subscription = runs.updates.subscribe(runId ?? "*");
  try {
    if (runId !== undefined) {
      const current = await store.getRun(runId);
      if (current) yield current;
    }
    yield* live(subscription, () => ({ hint: "Subscribe again: the first update is the current state." }));
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
    subscribe: ({ args, context }) =>
      userInput(async () => {
        // Checked before the stream starts, so the client gets BAD_USER_INPUT, not a stream error.
        await existingRun((args as ProgressArgs).runId, context as Context);
        return fairStream(progressStream(args as ProgressArgs, context as Context));
      }),
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
    subscribe: ({ args, context }) =>
      userInput(async () => {
        const runId = (args as { runId?: string | null }).runId ?? undefined;
        if (runId !== undefined) await existingRun(runId, context as Context);
        return fairStream(runUpdates(runId, context as Context));
      }),
  })
  runUpdated(@Root() run: RunRecord, @Arg("runId", () => ID, { nullable: true }) _runId?: string): Run {
    return Run.from(run);
  }
}
