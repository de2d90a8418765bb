// The service's database: runs, their metrics and the files they produced, in SQLite or PostgreSQL.
import type { IterationMetrics } from "../../engine/metrics.js";
import { decodeCursor, encodeCursor, type RunCursor } from "./cursor.js";
import type { Dialect } from "./dialect.js";
import { Prisma, type PrismaClient } from "./generated/client.js";
import { evenlySpacedMetrics, insertMetrics, lastWindowMeans, metricsBounds, wholeWindowBests } from "./metrics-sql.js";
import { openClient } from "./open-client.js";
import { runRow, toCheckpoint, toRun, toSample, toSweep } from "./rows.js";
import { InputError } from "../input-error.js";
import {
  NotFoundError,
  type CheckpointRecord,
  type MetricsRange,
  type NewCheckpoint,
  type NewRun,
  type NewSample,
  type RunPage,
  type RunPatch,
  type RunRecord,
  type RunStatus,
  type SampleKind,
  type SampleRecord,
  type SweepPage,
  type SweepRecord,
  type WindowBests,
  type WindowMeans,
} from "./types.js";

const NEWEST_FIRST = [{ createdAt: "desc" }, { id: "desc" }] satisfies Prisma.RunOrderByWithRelationInput[];
const OLDEST_FIRST = [{ createdAt: "asc" }, { id: "asc" }] satisfies Prisma.RunOrderByWithRelationInput[];
/** First come, first served: a resumed run joins the queue's end, behind runs already waiting. */
const QUEUE_ORDER = [{ queuedAt: "asc" }, { id: "asc" }] satisfies Prisma.RunOrderByWithRelationInput[];
/** Metrics leave the store as the engine's IterationMetrics: the caller knows the run. */
const WITHOUT_RUN_ID = { runId: true } as const;
/** The largest iteration a column holds (Prisma's Int is 32-bit): an open range's end. */
const MAX_ITERATION = 2 ** 31 - 1;

/** Keyset pagination, newest first: the rows strictly after the cursor's row (runs and sweeps alike). */
function olderThan({ createdAt, id }: RunCursor) {
  return { OR: [{ createdAt: { lt: createdAt } }, { createdAt, id: { lt: id } }] };
}

export class Store {
  private constructor(
    private readonly prisma: PrismaClient,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Opens a migrated database (see migrateDatabase): SQLite for a `file:` URL, e.g.
   * `file:./data/dcgan.db`, PostgreSQL for a `postgresql://` one.
   */
  static async open(databaseUrl: string): Promise<Store> {
    const { prisma, dialect } = await openClient(databaseUrl);
    return new Store(prisma, dialect);
  }

  /** Closes the database file, or PostgreSQL's connection pool. */
  close(): Promise<void> {
    return this.prisma.$disconnect();
  }

  // ---- runs

  async createRun(run: NewRun): Promise<RunRecord> {
    return toRun(await this.prisma.run.create({ data: runRow(run) }));
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const row = await this.prisma.run.findUnique({ where: { id } });
    return row && toRun(row);
  }

  /** Newest first (createdAt, then id, descending); `after` is a previous page's endCursor. */
  async listRuns({ status, first, after }: { status?: RunStatus; first: number; after?: string }): Promise<RunPage> {
    if (!Number.isInteger(first) || first < 0) throw new InputError("first", "must be a non-negative integer");
    const cursor = after === undefined ? undefined : decodeCursor(after);
    const rows = await this.prisma.run.findMany({
      where: {
        status,
        ...(cursor && olderThan(cursor)),
      },
      orderBy: NEWEST_FIRST,
      take: first + 1,
    });
    const runs = rows.slice(0, first).map(toRun);
    const last = runs.at(-1);
    return { runs, endCursor: last ? encodeCursor(last) : null, hasNextPage: rows.length > first };
  }

  async updateRun(id: string, patch: RunPatch): Promise<RunRecord> {
    try {
      return toRun(await this.prisma.run.update({ where: { id }, data: patch }));
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2025") throw new NotFoundError("run", id);
      throw err;
    }
  }

  /**
   * Applies `patch` only if the run's status is one of `from`, in one statement (so of
   * two processes racing for a run, one wins); the updated run, or null when it was not.
   */
  async updateRunIf(id: string, from: RunStatus[], patch: RunPatch): Promise<RunRecord | null> {
    const { count } = await this.prisma.run.updateMany({ where: { id, status: { in: from } }, data: patch });
    return count === 0 ? null : this.getRun(id);
  }

  /** The next run to start. */
  async nextQueued(): Promise<RunRecord | null> {
    const row = await this.prisma.run.findFirst({ where: { status: "QUEUED" }, orderBy: QUEUE_ORDER });
    return row && toRun(row);
  }

  /** Queued runs in the order they will start. */
  async queuedRuns(): Promise<RunRecord[]> {
    const rows = await this.prisma.run.findMany({ where: { status: "QUEUED" }, orderBy: QUEUE_ORDER });
    return rows.map(toRun);
  }

  /** How many runs wait QUEUED. */
  countQueued(): Promise<number> {
    return this.prisma.run.count({ where: { status: "QUEUED" } });
  }

  /** Oldest first. */
  async runsWithStatus(statuses: RunStatus[]): Promise<RunRecord[]> {
    const rows = await this.prisma.run.findMany({ where: { status: { in: statuses } }, orderBy: OLDEST_FIRST });
    return rows.map(toRun);
  }

  /** Removes the run with its metrics, checkpoints and samples (not their files); no-op when absent. */
  async deleteRun(id: string): Promise<void> {
    await this.prisma.run.deleteMany({ where: { id } });
  }

  // ---- sweeps

  /**
   * The sweep and its runs, in one transaction. The runs join the queue in the order
   * given, a millisecond apart: queuedAt alone orders them.
   */
  async createSweep({ name, grid, seeds }: Omit<SweepRecord, "id" | "createdAt">, runs: NewRun[]): Promise<{ sweep: SweepRecord; runs: RunRecord[] }> {
    const start = Date.now();
    const at = (i: number) => new Date(start + i);
    const row = await this.prisma.sweep.create({
      data: {
        name,
        createdAt: at(0),
        grid: JSON.stringify(grid),
        seeds: JSON.stringify(seeds),
        runs: { create: runs.map((run, i) => ({ ...runRow(run), createdAt: at(i), queuedAt: at(i) })) },
      },
      include: { runs: { orderBy: QUEUE_ORDER } },
    });
    return { sweep: toSweep(row), runs: row.runs.map(toRun) };
  }

  async getSweep(id: string): Promise<SweepRecord | null> {
    const row = await this.prisma.sweep.findUnique({ where: { id } });
    return row && toSweep(row);
  }

  /** Newest first, as listRuns. */
  async listSweeps({ first, after }: { first: number; after?: string }): Promise<SweepPage> {
    const cursor = after === undefined ? undefined : decodeCursor(after, "sweeps");
    const rows = await this.prisma.sweep.findMany({
      where: cursor && olderThan(cursor),
      orderBy: NEWEST_FIRST,
      take: first + 1,
    });
    const sweeps = rows.slice(0, first).map(toSweep);
    const last = sweeps.at(-1);
    return { sweeps, endCursor: last ? encodeCursor(last) : null, hasNextPage: rows.length > first };
  }

  /** The sweep's runs in the grid's order. */
  async sweepRuns(sweepId: string): Promise<RunRecord[]> {
    const rows = await this.prisma.run.findMany({ where: { sweepId }, orderBy: OLDEST_FIRST });
    return rows.map(toRun);
  }

  /** Removes the sweep row; its runs, if any are left, stay as runs of no sweep. */
  async deleteSweep(id: string): Promise<void> {
    await this.prisma.sweep.deleteMany({ where: { id } });
  }

  // ---- metrics

  /** Stores a batch in one statement (so one transaction); rows replace stored rows of the same iteration. */
  async addMetrics(runId: string, rows: IterationMetrics[]): Promise<void> {
    if (rows.length > 0) await insertMetrics(this.prisma, this.dialect, runId, rows);
  }

  /** Iterations after `afterIteration`, ascending. */
  metricsAfter(runId: string, afterIteration: number, limit?: number): Promise<IterationMetrics[]> {
    return this.prisma.metric.findMany({
      where: { runId, iteration: { gt: afterIteration } },
      omit: WITHOUT_RUN_ID,
      orderBy: { iteration: "asc" },
      take: limit,
    });
  }

  /**
   * Iterations in [from, to], ascending. Past `maxPoints` rows, returns at most that many,
   * evenly spaced over the range's iterations, the first and last included.
   */
  async metrics(runId: string, { from, to, maxPoints }: MetricsRange = {}): Promise<IterationMetrics[]> {
    const where = { runId, iteration: { gte: from, lte: to } };
    const all = () => this.prisma.metric.findMany({ where, omit: WITHOUT_RUN_ID, orderBy: { iteration: "asc" } });
    if (maxPoints === undefined) return all();
    if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new InputError("maxPoints", "must be an integer of at least 2");
    // Counting stops at maxPoints + 1: only "does it fit?" matters.
    const { first, last, count } = await metricsBounds(this.prisma, runId, from ?? 0, to ?? MAX_ITERATION, maxPoints + 1);
    if (count <= maxPoints || first === null || last === null) return all();
    return evenlySpacedMetrics(this.prisma, runId, first, last, maxPoints);
  }

  /** Means over the run's last `window` stored iterations; null when it has none. */
  lastWindowMeans(runId: string, window: number): Promise<WindowMeans | null> {
    return lastWindowMeans(this.prisma, runId, window);
  }

  /** See metrics-sql.ts's wholeWindowBests. */
  wholeWindowBests(runId: string, window: number, afterWindow = -1): Promise<WindowBests> {
    return wholeWindowBests(this.prisma, runId, window, afterWindow);
  }

  /** The newest stored iteration, 0 when there is none. */
  async lastMetricIteration(runId: string): Promise<number> {
    const row = await this.prisma.metric.findFirst({ where: { runId }, select: { iteration: true }, orderBy: { iteration: "desc" } });
    return row?.iteration ?? 0;
  }

  // ---- checkpoints and samples

  async addCheckpoint(checkpoint: NewCheckpoint): Promise<CheckpointRecord> {
    return toCheckpoint(await this.prisma.checkpoint.create({ data: checkpoint }));
  }

  /** Ascending by iteration. */
  async listCheckpoints(runId: string): Promise<CheckpointRecord[]> {
    const rows = await this.prisma.checkpoint.findMany({ where: { runId }, orderBy: [{ iteration: "asc" }, { createdAt: "asc" }] });
    return rows.map(toCheckpoint);
  }

  async getCheckpoint(id: string): Promise<CheckpointRecord | null> {
    const row = await this.prisma.checkpoint.findUnique({ where: { id } });
    return row && toCheckpoint(row);
  }

  /** Removes checkpoint rows (not their files); samples rendered from them keep theirs, their checkpointId cleared. */
  async deleteCheckpoints(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.prisma.checkpoint.deleteMany({ where: { id: { in: ids } } });
  }

  /** The iterations forks of the run were forked at (their checkpoints must stay). */
  async forkIterations(runId: string): Promise<number[]> {
    const rows = await this.prisma.run.findMany({ where: { parentRunId: runId, forkIteration: { not: null } }, select: { forkIteration: true }, distinct: ["forkIteration"] });
    return rows.map((r) => r.forkIteration!);
  }

  /** Bytes of the stored checkpoints and samples: of one run, or of every run. */
  async diskBytes(runId?: string): Promise<number> {
    const where = runId === undefined ? {} : { runId };
    const [checkpoints, samples] = await Promise.all([
      this.prisma.checkpoint.aggregate({ where, _sum: { bytes: true } }),
      this.prisma.sample.aggregate({ where, _sum: { bytes: true } }),
    ]);
    return Number(checkpoints._sum.bytes ?? 0) + Number(samples._sum.bytes ?? 0);
  }

  async addSample(sample: NewSample): Promise<SampleRecord> {
    return toSample(await this.prisma.sample.create({ data: sample }));
  }

  /** Ascending by iteration. */
  async listSamples(runId: string): Promise<SampleRecord[]> {
    const rows = await this.prisma.sample.findMany({ where: { runId }, orderBy: [{ iteration: "asc" }, { createdAt: "asc" }] });
    return rows.map(toSample);
  }

  /** The sample of the kind with the highest iteration (the newest among equals). */
  async latestSample(runId: string, kind: SampleKind = "FIXED_NOISE"): Promise<SampleRecord | null> {
    const row = await this.prisma.sample.findFirst({ where: { runId, kind }, orderBy: [{ iteration: "desc" }, { createdAt: "desc" }] });
    return row && toSample(row);
  }

  /** The diversity of the run's FIXED_NOISE samples that have one, by iteration. */
  async diversityHistory(runId: string): Promise<{ iteration: number; diversity: number }[]> {
    const rows = await this.prisma.sample.findMany({
      where: { runId, kind: "FIXED_NOISE", diversity: { not: null } },
      select: { iteration: true, diversity: true },
      orderBy: [{ iteration: "asc" }, { createdAt: "asc" }],
    });
    return rows.map((r) => ({ iteration: r.iteration, diversity: r.diversity! }));
  }

  async getSample(id: string): Promise<SampleRecord | null> {
    const row = await this.prisma.sample.findUnique({ where: { id } });
    return row && toSample(row);
  }
}
