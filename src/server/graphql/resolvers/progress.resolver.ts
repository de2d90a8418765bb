import { Arg, ID, Int, Resolver, Root, Subscription } from "type-graphql";
import { FINISHED_STATUSES, type RunRecord } from "../../store/types.js";
import type { ProgressEvent } from "../../runs/run-service.js";
import type { Context } from "../context.js";
import { userInput } from "../errors.js";
import { InputError } from "../../input-error.js";
import { IterationMetrics } from "../types/iteration-metrics.js";
import { Run } from "../types/run.js";

interface ProgressArgs {
  runId: string;
  after?: number | null;
}

/**
 * Live iterations of a run. With `after`, first the iterations after that number
 * that are already stored, then live ones: the live subscription starts before the
 * history is read, and iterations at or below the last one sent are dropped, so the
 * seam has neither a gap nor a duplicate. Ends when the run finishes.
 */
async function* progressStream({ runId, after }: ProgressArgs, { runs, store }: Context): AsyncGenerator<ProgressEvent> {
  // Subscribe before reading the status: a run that finishes in between still ends the stream.
  const live = runs.progress.subscribe(runId);
  try {
    // Existence was checked before the stream started; a run deleted since has finished too.
    const run = await store.getRun(runId);
    if (!run || FINISHED_STATUSES.includes(run.status)) live.end();
    let last = after ?? Number.POSITIVE_INFINITY;
    if (after !== undefined && after !== null) {
      for (const m of await runs.storedProgress(runId, after)) {
        yield { ...m, runId };
        last = m.iteration;
      }
    }
    for await (const event of live) {
      if (last === Number.POSITIVE_INFINITY) last = event.iteration - 1;
      if (event.iteration <= last) continue;
      last = event.iteration;
      yield event;
    }
  } finally {
    await live.return();
  }
}

/**
 * A run's updates, starting with its current state: a client that subscribes and then
 * waits for a status cannot miss a change made while its subscription was being set up.
 */
async function* runUpdates(runId: string | undefined, { runs, store }: Context): AsyncGenerator<RunRecord> {
  const live = runs.updates.subscribe(runId ?? "*");
  try {
    if (runId !== undefined) {
      const current = await store.getRun(runId);
      if (current) yield current;
    }
    yield* live;
  } finally {
    await live.return();
  }
}

async function existingRun(runId: string, { store }: Context): Promise<void> {
  if (!(await store.getRun(runId))) throw new InputError("runId", `no run ${runId}`);
}

@Resolver()
export class ProgressResolver {
  @Subscription(() => IterationMetrics, {
    description: "Every training iteration of a run (Loss_D, Loss_G, D(x), D(G(z))); `after` replays stored ones first",
    subscribe: ({ args, context }) =>
      userInput(async () => {
        // Checked before the stream starts, so the client gets BAD_USER_INPUT, not a stream error.
        await existingRun((args as ProgressArgs).runId, context as Context);
        return progressStream(args as ProgressArgs, context as Context);
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
        return runUpdates(runId, context as Context);
      }),
  })
  runUpdated(@Root() run: RunRecord, @Arg("runId", () => ID, { nullable: true }) _runId?: string): Run {
    return Run.from(run);
  }
}
