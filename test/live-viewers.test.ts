// Dashboard viewers of one training run, each subscribed with its own `after`: once
// caught up they share the run's live tail, so the server executes and serializes each
// live iteration once for all of them, and each still gets every iteration exactly once.
import "reflect-metadata";
import { afterEach, describe, expect, it, vi } from "vitest";
import { IterationMetrics } from "../src/server/graphql/types/iteration-metrics.js";
import { TINY_RUN } from "./helpers.js";
import { collect, startTestServer } from "./server-helpers.js";

const TINY = { ...TINY_RUN, seed: 5 };
const PROGRESS = `subscription ($runId: ID!, $after: Int) { runProgress(runId: $runId, after: $after) { iteration lossD lossG timestamp } }`;
const VIEWERS = 10;

interface Progress {
  runProgress: { iteration: number };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("viewers of a training run", () => {
  it("each get every iteration after their own `after` once, in order, and share each live iteration's execution and serialization", async () => {
    const server = await startTestServer();
    const started = await server.gql<{ startRun: { id: string } }>(`mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`, {
      input: { ...TINY, iterations: 100_000, sampleEvery: 100_000, checkpointEvery: 100_000 },
    });
    const runId = started.data!.startRun.id;
    // A history to replay first.
    const { events: first } = await collect<Progress>(server.ws, PROGRESS, { runId, after: 0 }, (events) => events.length >= 10);
    const target = first.at(-1)!.runProgress.iteration + 60;

    const executed = vi.spyOn(IterationMetrics, "from");
    const stringified = vi.spyOn(JSON, "stringify");
    const viewers = await Promise.all(
      Array.from({ length: VIEWERS }, (_, i) =>
        collect<Progress>(server.ws, PROGRESS, { runId, after: 2 * i }, (events) => events.at(-1)!.runProgress.iteration >= target),
      ),
    );
    const executions = executed.mock.calls.map(([event]) => event);
    // Calls that wrote a runProgress result (alone or in its message) into JSON.
    const serializations = stringified.mock.results.filter((r) => typeof r.value === "string" && r.value.includes('"runProgress"')).length;
    vi.restoreAllMocks();
    await server.gql(`mutation ($id: ID!) { stopRun(id: $id) { id } }`, { id: runId });

    for (const [i, { events }] of viewers.entries()) {
      const iterations = events.map((e) => e.runProgress.iteration);
      expect(iterations).toEqual(Array.from({ length: iterations.length }, (_, k) => 2 * i + 1 + k));
      expect(iterations.at(-1)).toBeGreaterThanOrEqual(target);
    }
    const delivered = viewers.reduce((sum, v) => sum + v.events.length, 0);
    // Every event executed once: a replayed one for its viewer, a live one for all of them.
    expect(new Set(executions).size).toBe(executions.length);
    // The live tail was shared: the viewers got far more messages than there were executions...
    expect(executions.length).toBeLessThan(delivered / 2);
    // ...and each execution's result was serialized at most once, not once per message.
    expect(serializations).toBeLessThanOrEqual(executions.length);
  });
});
