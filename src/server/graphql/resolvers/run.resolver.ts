import { Arg, Ctx, Extensions, Float, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { InputError, InputErrors, parseConfigInput } from "../../input-error.js";
import { collapseWarning } from "../../runs/collapse.js";
import type { Context } from "../context.js";
import { RunStatus } from "../enums.js";
import { ForkRunInput, StartRunInput } from "../inputs.js";
import { pageArguments } from "../pagination.js";
import { checkIds, nameError } from "../text-bounds.js";
import { Checkpoint, Sample } from "../types/artifacts.js";
import { IterationMetrics } from "../types/iteration-metrics.js";
import { Run, RunConnection } from "../types/run.js";

@Resolver(() => Run)
export class RunResolver {
  @Query(() => Run, { nullable: true })
  async run(@Arg("id", () => ID) id: string, @Ctx() { store }: Context): Promise<Run | undefined> {
    checkIds({ id });
    const record = await store.getRun(id);
    return record ? Run.from(record) : undefined;
  }

  @Query(() => RunConnection, { description: "Runs, newest first, with cursor pagination; `first` (default 20) is at most MAX_PAGE_SIZE (100)" })
  @Extensions({ listSize: "first" })
  async runs(
    @Ctx() { store, limits }: Context,
    @Arg("status", () => RunStatus, { nullable: true }) status?: RunStatus,
    @Arg("first", () => Int, { nullable: true }) requested?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ): Promise<RunConnection> {
    const page = await store.listRuns({ status: status ?? undefined, ...pageArguments(limits, requested, after) });
    return { nodes: page.runs.map(Run.from), pageInfo: { endCursor: page.endCursor ?? undefined, hasNextPage: page.hasNextPage } };
  }

  @Mutation(() => Run, { description: "Validates, stores and queues a run; it starts when a training slot is free" })
  async startRun(@Arg("input", () => StartRunInput) input: StartRunInput, @Ctx() { runs, limits }: Context): Promise<Run> {
    const { name, keepCheckpoints, ...settings } = input.toConfig();
    // The name is no part of the training config the service checks: it is refused
    // here, together with whatever the config's own check finds.
    const badName = nameError(name, limits.maxNameLength);
    if (badName) throw new InputErrors([badName, ...parseConfigInput(settings).errors]);
    return Run.from(await runs.start({ name, keepCheckpoints, ...settings }));
  }

  @Mutation(() => Run, { description: "Stops at the next iteration boundary with a final checkpoint and sample" })
  async stopRun(@Arg("id", () => ID) id: string, @Ctx() { runs }: Context): Promise<Run> {
    checkIds({ id });
    return Run.from(await runs.stop(id));
  }

  @Mutation(() => Run, { description: "Continues a STOPPED, FAILED or INTERRUPTED run from its latest (or the given) checkpoint" })
  async resumeRun(
    @Arg("id", () => ID) id: string,
    @Ctx() { runs }: Context,
    @Arg("checkpointId", () => ID, { nullable: true }) checkpointId?: string,
  ): Promise<Run> {
    checkIds({ id, checkpointId });
    return Run.from(await runs.resume(id, checkpointId ?? undefined));
  }

  @Mutation(() => Run, {
    description:
      "Queues a new run from a checkpoint's weights and optimizer state with some hyperparameters changed; it records its parent and continues the numbering after the checkpoint's iteration",
  })
  async forkRun(
    @Arg("checkpointId", () => ID) checkpointId: string,
    @Ctx() { runs, limits }: Context,
    @Arg("changes", () => ForkRunInput, { nullable: true }) changes?: ForkRunInput,
    @Arg("name", () => String, { nullable: true }) name?: string,
  ): Promise<Run> {
    checkIds({ checkpointId });
    const badName = nameError(name ?? undefined, limits.maxNameLength);
    if (badName) throw badName;
    return Run.from(await runs.fork(checkpointId, changes?.toChanges() ?? {}, name ?? undefined));
  }

  @FieldResolver(() => Run, { nullable: true, description: "The run this one was forked from; null when it was not, or has been deleted" })
  async parent(@Root() run: Run, @Ctx() { store }: Context): Promise<Run | undefined> {
    if (!run.parentRunId) return undefined;
    const record = await store.getRun(run.parentRunId);
    return record ? Run.from(record) : undefined;
  }

  @Mutation(() => Boolean, { description: "Removes a finished run with its metrics, checkpoints and samples" })
  async deleteRun(@Arg("id", () => ID) id: string, @Ctx() { runs }: Context): Promise<boolean> {
    checkIds({ id });
    await runs.delete(id);
    return true;
  }

  @Mutation(() => Sample, { description: "Renders new images from a checkpoint's generator" })
  async generate(
    @Arg("checkpointId", () => ID) checkpointId: string,
    @Ctx() { generator }: Context,
    @Arg("count", () => Int, { defaultValue: 64 }) count: number,
    @Arg("seed", () => Int, { defaultValue: 1 }) seed: number,
  ): Promise<Sample> {
    checkIds({ checkpointId });
    return Sample.from(await generator.generate(checkpointId, count, seed));
  }

  @FieldResolver(() => [IterationMetrics], {
    description: "Stored iterations in [from, to], evenly downsampled to at most maxPoints (default and limit MAX_METRIC_POINTS, 10000)",
  })
  @Extensions({ listSize: "maxPoints" })
  async metrics(
    @Root() run: Run,
    @Ctx() { store, limits }: Context,
    @Arg("from", () => Int, { nullable: true }) from?: number,
    @Arg("to", () => Int, { nullable: true }) to?: number,
    @Arg("maxPoints", () => Int, { nullable: true }) maxPoints?: number,
  ): Promise<IterationMetrics[]> {
    const points = maxPoints ?? limits.maxMetricPoints;
    if (points < 2 || points > limits.maxMetricPoints) {
      throw new InputError("maxPoints", `must be from 2 to ${limits.maxMetricPoints} (MAX_METRIC_POINTS)`);
    }
    const rows = await store.metrics(run.id, { from: from ?? undefined, to: to ?? undefined, maxPoints: points });
    return rows.map((m) => IterationMetrics.from({ ...m, runId: run.id }));
  }

  @FieldResolver(() => [Checkpoint])
  async checkpoints(@Root() run: Run, @Ctx() { store }: Context): Promise<Checkpoint[]> {
    return (await store.listCheckpoints(run.id)).map(Checkpoint.from);
  }

  @FieldResolver(() => [Sample])
  async samples(@Root() run: Run, @Ctx() { store }: Context): Promise<Sample[]> {
    return (await store.listSamples(run.id)).map(Sample.from);
  }

  @FieldResolver(() => Float, { description: "Bytes of its stored checkpoints and samples" })
  diskBytes(@Root() run: Run, @Ctx() { store }: Context): Promise<number> {
    return store.diskBytes(run.id);
  }

  @FieldResolver(() => Sample, { nullable: true, description: "The newest fixed-noise grid" })
  async latestSample(@Root() run: Run, @Ctx() { store }: Context): Promise<Sample | undefined> {
    const sample = await store.latestSample(run.id);
    return sample ? Sample.from(sample) : undefined;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "Set when the fixed-noise grids' diversity fell under half its peak (after the first two grids): G may be collapsing",
  })
  async collapseWarning(@Root() run: Run, @Ctx() { store }: Context): Promise<string | null> {
    return collapseWarning(await store.diversityHistory(run.id));
  }
}
