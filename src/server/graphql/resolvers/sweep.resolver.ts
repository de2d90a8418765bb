import { Arg, Ctx, Extensions, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { InputError } from "../../input-error.js";
import { DEFAULT_SMOOTHING_WINDOW } from "../../sweeps/sweep-table.js";
import type { Context } from "../context.js";
import { StartSweepInput } from "../inputs.js";
import { pageArguments } from "../pagination.js";
import { checkIds, nameError } from "../text-bounds.js";
import { Run } from "../types/run.js";
import { Sweep, SweepConnection, SweepRow } from "../types/sweep.js";

/** The most iterations a table's window may average. */
const MAX_SMOOTHING_WINDOW = 1_000_000;

async function loadSweep({ store }: Context, id: string): Promise<Sweep | undefined> {
  const sweep = await store.getSweep(id);
  return sweep ? Sweep.from(sweep, await store.sweepRuns(id)) : undefined;
}

async function existingSweep(context: Context, id: string): Promise<Sweep> {
  const sweep = await loadSweep(context, id);
  if (!sweep) throw new InputError("id", `no sweep ${id}`);
  return sweep;
}

@Resolver(() => Sweep)
export class SweepResolver {
  @Query(() => Sweep, { nullable: true })
  sweep(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<Sweep | undefined> {
    checkIds({ id });
    return loadSweep(context, id);
  }

  @Query(() => SweepConnection, { description: "Sweeps, newest first, with cursor pagination; `first` (default 20) is at most MAX_PAGE_SIZE (100)" })
  @Extensions({ listSize: "first" })
  async sweeps(
    @Ctx() { store, limits }: Context,
    @Arg("first", () => Int, { nullable: true }) requested?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ): Promise<SweepConnection> {
    const page = await store.listSweeps(pageArguments(limits, requested, after));
    const nodes = await Promise.all(page.sweeps.map(async (s) => Sweep.from(s, await store.sweepRuns(s.id))));
    return { nodes, pageInfo: { endCursor: page.endCursor ?? undefined, hasNextPage: page.hasNextPage } };
  }

  @Mutation(() => Sweep, {
    description: "Validates every combination of the grid (for each seed), then stores and queues one run per combination, grouped under a sweep; refused whole if any is invalid or the queue has no room for all",
  })
  async startSweep(@Arg("input", () => StartSweepInput) input: StartSweepInput, @Ctx() context: Context): Promise<Sweep> {
    const badName = nameError(input.name ?? undefined, context.limits.maxNameLength);
    if (badName) throw badName;
    const sweep = await context.sweeps.start(input.toSweep());
    return existingSweep(context, sweep.id);
  }

  @Mutation(() => Sweep, { description: "Stops every QUEUED or RUNNING run of the sweep, as stopRun does" })
  async stopSweep(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<Sweep> {
    checkIds({ id });
    await context.sweeps.stop(id);
    return existingSweep(context, id);
  }

  @Mutation(() => Sweep, { description: "Resumes every STOPPED, FAILED or INTERRUPTED run of the sweep, as resumeRun does" })
  async resumeSweep(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<Sweep> {
    checkIds({ id });
    await context.sweeps.resume(id);
    return existingSweep(context, id);
  }

  @Mutation(() => Boolean, { description: "Removes a sweep whose runs have all finished, with those runs" })
  async deleteSweep(@Arg("id", () => ID) id: string, @Ctx() { sweeps }: Context): Promise<boolean> {
    checkIds({ id });
    await sweeps.delete(id);
    return true;
  }

  @FieldResolver(() => [SweepRow], {
    description: `One row per run, in the grid's order: its values, the means of its last \`window\` iterations (default ${DEFAULT_SMOOTHING_WINDOW}), its best window's losses and its latest diversity`,
  })
  // Each row aggregates its run's metrics: some 6 ms per 10,000 iterations, 600 units of 10 µs.
  @Extensions({ listSize: "sweepRuns", itemPrice: 600 })
  async table(
    @Root() sweep: Sweep,
    @Ctx() { sweeps }: Context,
    @Arg("window", () => Int, { defaultValue: DEFAULT_SMOOTHING_WINDOW }) window: number,
  ): Promise<SweepRow[]> {
    if (!Number.isInteger(window) || window < 1 || window > MAX_SMOOTHING_WINDOW) {
      throw new InputError("window", `must be a whole number from 1 to ${MAX_SMOOTHING_WINDOW}`);
    }
    return (await sweeps.table(sweep, sweep.records, window)).map(SweepRow.from);
  }
}

@Resolver(() => Run)
export class RunSweepResolver {
  @FieldResolver(() => Sweep, { nullable: true, description: "The sweep this run is one combination of; null when none, or it has been deleted" })
  sweep(@Root() run: Run, @Ctx() context: Context): Promise<Sweep | undefined> | undefined {
    return run.sweepId ? loadSweep(context, run.sweepId) : undefined;
  }
}
