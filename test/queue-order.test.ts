import { describe, expect, it } from "vitest";
import { TINY_RUN } from "./helpers.js";
import { progress, waitForStatus } from "./process-helpers.js";
import { startTestServer } from "./server-helpers.js";

const TINY = { ...TINY_RUN, sampleEvery: 100_000, iterations: 100_000 };
const START = `mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`;

describe("the queue", () => {
  it("serves runs in the order they joined it: a resumed run waits behind runs queued before it", async () => {
    const server = await startTestServer({ maxConcurrentRuns: 1 });
    const start = async (name: string) => (await server.gql<{ startRun: { id: string } }>(START, { input: { ...TINY, name } })).data!.startRun.id;
    const system = async () => (await server.gql<{ system: { queuedRunIds: string[] } }>(`{ system { queuedRunIds } }`)).data!.system;

    // The oldest run trains a little and is stopped: resumable later.
    const resumed = await start("created first, resumed last");
    await progress(server.service.url, resumed, 0, 2);
    await server.gql(`mutation { stopRun(id: "${resumed}") { id } }`);
    await waitForStatus(server.service.url, resumed, ["STOPPED"]);

    const training = await start("training");
    await progress(server.service.url, training, 0, 1);
    const waiting = await start("waiting");
    await server.gql(`mutation { resumeRun(id: "${resumed}") { id } }`);
    expect((await system()).queuedRunIds).toEqual([waiting, resumed]);

    // When the training run stops, the run that waited longer starts.
    await server.gql(`mutation { stopRun(id: "${training}") { id } }`);
    await waitForStatus(server.service.url, waiting, ["RUNNING"]);
    expect((await system()).queuedRunIds).toEqual([resumed]);
    for (const id of [waiting, resumed]) await server.gql(`mutation { stopRun(id: "${id}") { id } }`);
  });
});
