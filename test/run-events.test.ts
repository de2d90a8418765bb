import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TRAIN_DEFAULTS } from "../src/engine/config.js";
import type { IterationMetrics } from "../src/engine/metrics.js";
import { LocalRunEvents } from "../src/server/events/local-run-events.js";
import { RedisRunEvents } from "../src/server/events/redis-run-events.js";
import { ALL_RUNS, type ProgressEvent, type RunEvents } from "../src/server/events/run-events.js";
import { isLiveTailEvent, liveTail } from "../src/server/runs/live-tail.js";
import { progressHistory } from "../src/server/runs/progress-history.js";
import type { RunRecord } from "../src/server/store/types.js";
import { useRedisServer } from "./services/redis.js";

// Each case takes well under a second: a stream that never ends fails fast instead of at the suite's 2 minutes.
vi.setConfig({ testTimeout: 20_000 });

const redis = useRedisServer();
const BOUND = 1000;
/** How long the store stub takes to commit a batch, and the rows in one. */
const COMMIT_MS = 5;
const BATCH = 7;

/** Every instance a test opened, closed after it. */
const opened: RunEvents[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((events) => events.close()));
});

function local(): RunEvents {
  const events = new LocalRunEvents(BOUND);
  opened.push(events);
  return events;
}

/** One "process" on the test file's Redis; connection losses (a restart) are expected. */
function onRedis(): RunEvents {
  const events = new RedisRunEvents(redis.url, BOUND, () => undefined);
  opened.push(events);
  return events;
}

function metrics(iteration: number): IterationMetrics {
  return {
    iteration,
    epoch: Math.floor(iteration / 100),
    batch: iteration % 100,
    lossD: Math.sin(iteration),
    lossG: 1 / iteration,
    dX: 0.5,
    dGz1: 0.25,
    // A diverged GAN's NaN must come back as NaN.
    dGz2: iteration % 10 === 3 ? Number.NaN : Math.cos(iteration),
    errDReal: 0.1 * iteration,
    errDFake: 0.2,
    imagesPerSecond: 123.5,
    timestamp: 1_700_000_000_000 + iteration,
  };
}

function iterations(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * A run as the trainer and the store see it: each iteration published, then batched
 * into a store that commits after a delay and then tells progressStored.
 */
class TrainedRun {
  readonly id = `run-${randomUUID()}`;
  /** Its status is finished (stored before endProgress, as the run service does). */
  ended = false;
  /** The last iteration published. */
  last = 0;
  private readonly rows = new Map<number, IterationMetrics>();
  private unstored: IterationMetrics[] = [];
  private committing = Promise.resolve();

  constructor(private readonly events: RunEvents) {}

  /** Trains iterations `from` to `to`, letting subscribers and the store run every few. */
  async train(from: number, to: number): Promise<void> {
    for (const i of iterations(from, to)) {
      await this.events.publishProgress(this.id, metrics(i));
      this.last = i;
      this.unstored.push(metrics(i));
      if (this.unstored.length >= BATCH) void this.commit();
      if (i % 5 === 0) await delay(1);
    }
  }

  /** Its last batch stored, then its status, then its streams end: the run service's order. */
  async finish(): Promise<void> {
    await this.commit();
    this.ended = true;
    await this.events.endProgress(this.id);
  }

  /** The run's progress subscription as the resolver makes it, on `events` (another replica's, say). */
  watch(after: number | undefined, events = this.events): AsyncGenerator<ProgressEvent> {
    return liveTail<ProgressEvent>({
      source: events.progress,
      key: this.id,
      after,
      pageSize: 10,
      history: async (from, limit) =>
        (await progressHistory({ recent: (since) => events.recentProgress(this.id, since), stored: async (since, take) => this.stored(since, take) }, from, limit)).map((m) => ({
          ...m,
          runId: this.id,
        })),
      ended: async () => this.ended,
      position: (event) => event.iteration,
    });
  }

  private commit(): Promise<void> {
    const batch = this.unstored;
    this.unstored = [];
    this.committing = this.committing.then(async () => {
      if (batch.length === 0) return;
      await delay(COMMIT_MS);
      // Written idempotently on (run, iteration), as the store does.
      for (const m of batch) this.rows.set(m.iteration, m);
      await this.events.progressStored(this.id, batch.at(-1)!.iteration);
    });
    return this.committing;
  }

  private stored(after: number, limit: number): IterationMetrics[] {
    return [...this.rows.values()]
      .filter((m) => m.iteration > after)
      .sort((a, b) => a.iteration - b.iteration)
      .slice(0, limit);
  }
}

async function read(stream: AsyncGenerator<ProgressEvent>, count: number): Promise<ProgressEvent[]> {
  const events: ProgressEvent[] = [];
  while (events.length < count) {
    const next = await stream.next();
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

/** What a stream gives until it ends. */
function readToEnd(stream: AsyncGenerator<ProgressEvent>): Promise<ProgressEvent[]> {
  return read(stream, Number.POSITIVE_INFINITY);
}

function expectIterations(events: ProgressEvent[], from: number, to: number, runId: string): void {
  expect(events.map((e) => e.iteration)).toEqual(iterations(from, to));
  expect(events).toEqual(iterations(from, to).map((i) => ({ ...metrics(i), runId })));
}

function runRecord(id: string, status: RunRecord["status"]): RunRecord {
  return {
    id,
    name: `run ${id}`,
    status,
    config: { ...TRAIN_DEFAULTS },
    backend: "cpu",
    backendDetail: null,
    dataset: "mnist",
    totalIterations: 100,
    batchesPerEpoch: 10,
    createdAt: new Date("2025-01-02T03:04:05.678Z"),
    queuedAt: new Date("2025-01-02T03:04:06.000Z"),
    startedAt: status === "QUEUED" ? null : new Date("2025-01-02T03:05:00.000Z"),
    finishedAt: null,
    iteration: 12,
    epoch: 1,
    error: null,
    parentRunId: null,
    forkIteration: null,
    keepLast: 0,
    keepEvery: 0,
    sweepId: null,
  };
}

describe.each([
  { name: "in-process", open: local },
  { name: "on Redis", open: onRedis },
])("run events $name", ({ open }) => {
  it("replays, then goes live: every iteration exactly once and in order across the seam, while training goes on", async () => {
    const run = new TrainedRun(open());
    await run.train(1, 40);
    const first = run.watch(0);
    const firstRead = read(first, 400);
    const training = run.train(41, 400);
    await delay(30);
    // Joins while the stream is in full flow, the store lagging behind it.
    const second = run.watch(0);
    const [fromFirst, fromSecond] = await Promise.all([firstRead, read(second, 400), training]);
    expectIterations(fromFirst, 1, 400, run.id);
    expectIterations(fromSecond, 1, 400, run.id);
    await run.finish();
    expect(await first.next()).toEqual({ done: true, value: undefined });
    expect(await second.next()).toEqual({ done: true, value: undefined });
  });

  it("gives two subscribers of one process the very same object for a live iteration", async () => {
    const run = new TrainedRun(open());
    await run.train(1, 3);
    const streams = [run.watch(0), run.watch(2)];
    expect((await Promise.all(streams.map((s, i) => read(s, [3, 1][i]!)))).map((events) => events.map((e) => e.iteration))).toEqual([[1, 2, 3], [3]]);
    await run.train(4, 6);
    const [a, b] = await Promise.all(streams.map((s) => read(s, 3)));
    expectIterations(a!, 4, 6, run.id);
    for (const [i, event] of a!.entries()) {
      expect(event).toBe(b![i]);
      expect(isLiveTailEvent(event)).toBe(true);
    }
    for (const s of streams) await s.return(undefined);
  });

  it("ends every stream after delivering all that was published before endProgress", async () => {
    const run = new TrainedRun(open());
    await run.train(1, 1);
    const streams = [run.watch(0), run.watch(undefined)];
    await read(streams[0]!, 1);
    // The live-only one is subscribed once its first read has begun.
    const liveOnly = readToEnd(streams[1]!);
    await delay(20);
    await run.train(2, 60);
    await run.finish();
    expectIterations(await readToEnd(streams[0]!), 2, 60, run.id);
    expectIterations(await liveOnly, 2, 60, run.id);
  });

  it("gives a subscriber joining after the end the history, then ends its stream", async () => {
    const run = new TrainedRun(open());
    await run.train(1, 30);
    await run.finish();
    expectIterations(await readToEnd(run.watch(0)), 1, 30, run.id);
    expectIterations(await readToEnd(run.watch(12)), 13, 30, run.id);
  });

  it("delivers once each iteration that a resumed run publishes again, and ends its streams though it stops before its previous last iteration", async () => {
    const events = open();
    const run = new TrainedRun(events);
    await run.train(1, 10);
    await run.finish();
    // Resumed from the checkpoint at iteration 5.
    run.ended = false;
    const first = run.watch(0);
    expectIterations(await read(first, 10), 1, 10, run.id);
    await run.train(6, 15);
    const recent = (await events.recentProgress(run.id, 0)).map((m) => m.iteration);
    expect(recent).toEqual([...new Set(recent)].sort((a, b) => a - b));
    await run.finish();
    expectIterations(await readToEnd(first), 11, 15, run.id);
    // Resumed from iteration 12, stopped after 13.
    run.ended = false;
    const second = run.watch(0);
    expectIterations(await read(second, 15), 1, 15, run.id);
    await run.train(13, 13);
    await run.finish();
    expect(await readToEnd(second)).toEqual([]);
  });

  it("sends run updates to the run's subscribers and ALL_RUNS'", async () => {
    const events = open();
    const [one, all] = [events.updates.subscribe("a"), events.updates.subscribe(ALL_RUNS)];
    await Promise.all([one.ready, all.ready]);
    const [a, b] = [runRecord("a", "RUNNING"), { ...runRecord("b", "COMPLETED"), finishedAt: new Date("2025-01-02T04:00:00.000Z") }];
    await events.publishRun(a);
    await events.publishRun(b);
    const [toAll1, toAll2] = [await all.next(), await all.next()];
    expect([toAll1.value, toAll2.value]).toEqual([a, b]);
    const toOne = await one.next();
    expect(toOne.value).toEqual(a);
    expect(toOne.value).toBe(toAll1.value);
    expect(toOne.value?.createdAt).toBeInstanceOf(Date);
    await one.return();
    await all.return();
  });
});

describe("run events on Redis, across processes", () => {
  it("gives two API replicas every iteration a trainer publishes", async () => {
    const run = new TrainedRun(onRedis());
    const replicas = [onRedis(), onRedis()];
    await run.train(1, 20);
    const streams = replicas.flatMap((replica) => [run.watch(0, replica), run.watch(0, replica)]);
    const reads = streams.map((s) => readToEnd(s));
    await run.train(21, 300);
    await run.finish();
    for (const events of await Promise.all(reads)) expectIterations(events, 1, 300, run.id);
  });

  it("loses and duplicates nothing when Redis restarts mid-stream", async () => {
    const run = new TrainedRun(onRedis());
    const replica = onRedis();
    await run.train(1, 100);
    const stream = run.watch(0, replica);
    expectIterations(await read(stream, 100), 1, 100, run.id);
    const rest = readToEnd(stream);
    const restartedAt = delay(20).then(async () => {
      const at = run.last;
      await redis.restart();
      return at;
    });
    await Promise.all([run.train(101, 300), restartedAt]);
    // It went down while iterations were being published, and the reader was waiting for them.
    expect(await restartedAt).toBeGreaterThan(100);
    expect(await restartedAt).toBeLessThan(300);
    await run.train(301, 400);
    await run.finish();
    expectIterations(await rest, 101, 400, run.id);
    expect((await replica.recentProgress(run.id, 0)).map((m) => m.iteration)).toEqual(iterations(1, 400));
  });
});
