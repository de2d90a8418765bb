// Input validation: every invalid field of a request comes back at once, each in an
// error of its own naming it, in plain words, over HTTP and WebSocket alike; free text
// (names, paths, ids, cursors) is bounded; nothing refused is stored.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PATH_BYTES } from "../src/engine/config.js";
import { MAX_ID_LENGTH } from "../src/server/graphql/text-bounds.js";
import { DEFAULT_LIMITS } from "../src/server/settings.js";
import { launchChromium, SKIP_BROWSER } from "./browser-helpers.js";
import { TINY_RUN } from "./helpers.js";
import { type GraphQLErrorBody, startTestServer, type TestServer } from "./server-helpers.js";

const TINY = { ...TINY_RUN, iterations: 1 };
const START = `mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`;
/** Far longer than any name, path or id should be: what issue 12 sent. */
const HUGE = "x".repeat(1_000_000);
/** An answer that repeats a huge input is this large at least; refusals are short. */
const SHORT_ANSWER_BYTES = 4096;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});

async function storedRunIds(): Promise<string[]> {
  const { data } = await server.gql<{ runs: { nodes: { id: string }[] } }>(`{ runs(first: 100) { nodes { id } } }`);
  return data!.runs.nodes.map((run) => run.id);
}

/** startRun over HTTP; checks that nothing was stored, and answers its errors. */
async function refusedStart(input: Record<string, unknown>): Promise<GraphQLErrorBody[]> {
  const before = await storedRunIds();
  const { data, errors } = await server.gql(START, { input: { ...TINY, ...input } });
  expect(data?.startRun ?? null).toBeNull();
  expect(await storedRunIds()).toEqual(before);
  return errors ?? [];
}

/** One operation over the test server's WebSocket client: its first result's errors. */
async function overWebSocket(query: string, variables: Record<string, unknown>): Promise<GraphQLErrorBody[]> {
  const results = server.ws.iterate({ query, variables });
  const { value } = await results.next();
  await results.return?.();
  return (value as { errors?: GraphQLErrorBody[] }).errors ?? [];
}

/** field -> message, for errors that are all BAD_USER_INPUT. */
function byField(errors: GraphQLErrorBody[]): Record<string, string> {
  for (const error of errors) expect(error.extensions?.code).toBe("BAD_USER_INPUT");
  return Object.fromEntries(errors.map((error) => [error.extensions?.field, error.message]));
}

/** A message in plain words: "field: what it must be", the field named once, no validator's stock wording. */
function expectPlain(field: string, message: string): void {
  expect(message.startsWith(`${field}: `)).toBe(true);
  const rest = message.slice(field.length + 2);
  expect(rest).not.toContain(field);
  expect(rest).not.toMatch(/expected|too small|too big|invalid|received|>=|<=/i);
}

describe("startRun reports every invalid field at once", () => {
  const ISSUE_11 = { lr: -1, batchSize: 0, imageSize: 30, channels: 2 };

  it("over HTTP: one error per field, each in plain words, nothing stored", async () => {
    const errors = byField(await refusedStart(ISSUE_11));
    expect(Object.keys(errors).sort()).toEqual(["batchSize", "channels", "imageSize", "lr"]);
    for (const [field, message] of Object.entries(errors)) expectPlain(field, message);
    expect(errors.batchSize).toBe("batchSize: must be a whole number from 2 to 65536");
  });

  it("over WebSocket, the same errors", async () => {
    const before = await storedRunIds();
    const errors = byField(await overWebSocket(START, { input: { ...TINY, ...ISSUE_11 } }));
    expect(Object.keys(errors).sort()).toEqual(["batchSize", "channels", "imageSize", "lr"]);
    expect(errors).toEqual(byField(await refusedStart(ISSUE_11)));
    expect(await storedRunIds()).toEqual(before);
  });

  it("refuses channel counts other than 1 and 3, saying what each does with a dataset of the other kind", async () => {
    for (const channels of [0, 2, 4]) {
      const { channels: message } = byField(await refusedStart({ channels }));
      expectPlain("channels", message!);
      expect(message).toMatch(/1 trains on grey images \(colour ones are converted to grey\)/);
      expect(message).toMatch(/3 on colour ones \(grey ones repeat their grey in all three\)/);
    }
  });

  it("asks for a folder without repeating itself, alongside the other fields", async () => {
    const errors = byField(await refusedStart({ dataset: { kind: "IMAGE_FOLDER" }, batchSize: 1 }));
    expect(errors["dataset.path"]).toBe("dataset.path: is needed for this dataset: only fashion-mnist has a default folder");
    expect(Object.keys(errors).sort()).toEqual(["batchSize", "dataset.path"]);
  });

  it("refuses threads outside 1 to 1024, with the other invalid fields", async () => {
    const errors = byField(await refusedStart({ threads: 0, batchSize: 1 }));
    expect(errors).toEqual({ threads: "threads: must be a whole number from 1 to 1024", batchSize: "batchSize: must be a whole number from 2 to 65536" });
  });

  it("checks the data path and the backend whatever else is wrong", async () => {
    const errors = byField(await refusedStart({ dataset: { kind: "MNIST", path: "/etc" }, backend: "TENSORFLOW", ngf: 0 }));
    expect(Object.keys(errors).sort()).toEqual(["backend", "dataset.path", "ngf"]);
    expect(errors["dataset.path"]).toMatch(/must be inside one of the data roots/);
  });

  it("reports a dataset that cannot be read together with a run too large for the memory budget", async () => {
    const empty = join(server.dataDir, "empty-folder");
    await mkdir(empty, { recursive: true });
    const errors = byField(await refusedStart({ dataset: { kind: "IMAGE_FOLDER", path: empty }, imageSize: 4096 }));
    expect(Object.keys(errors).sort()).toEqual(["dataset.path", "imageSize"]);
    expect(errors.imageSize).toMatch(/MEMORY_BUDGET_MB/);
  });
});

describe("free text is bounded", () => {
  const MAX_NAME = DEFAULT_LIMITS.maxNameLength;

  it("refuses a name past MAX_NAME_LENGTH without repeating it, with the other invalid fields", async () => {
    const res = await server.gql(START, { input: { ...TINY, name: HUGE, batchSize: 0 } });
    expect(JSON.stringify(res).length).toBeLessThan(SHORT_ANSWER_BYTES);
    const errors = byField(res.errors ?? []);
    expect(Object.keys(errors).sort()).toEqual(["batchSize", "name"]);
    expect(errors.name).toBe(`name: must be at most ${MAX_NAME} characters (MAX_NAME_LENGTH)`);
    expect(await storedRunIds()).toEqual([]);
  });

  it("counts a name's characters, not its UTF-16 units", async () => {
    // Each emoji is two UTF-16 units: at the limit, the batch size alone is refused; one more, the name too.
    expect(Object.keys(byField(await refusedStart({ name: "😀".repeat(MAX_NAME), batchSize: 0 })))).toEqual(["batchSize"]);
    expect(Object.keys(byField(await refusedStart({ name: "😀".repeat(MAX_NAME + 1), batchSize: 0 }))).sort()).toEqual(["batchSize", "name"]);
  });

  it("refuses a data path past PATH_MAX without repeating it", async () => {
    const res = await server.gql(START, { input: { ...TINY, dataset: { kind: "IMAGE_FOLDER", path: `/${"d".repeat(MAX_PATH_BYTES)}` } } });
    expect(JSON.stringify(res).length).toBeLessThan(SHORT_ANSWER_BYTES);
    expect(byField(res.errors ?? [])).toEqual({ "dataset.path": `dataset.path: must be a path of 1 to ${MAX_PATH_BYTES} bytes` });
  });

  const huge = JSON.stringify(HUGE);
  const operations: [string, string, string][] = [
    ["run", `{ run(id: ${huge}) { id } }`, "id"],
    ["runs", `{ runs(after: ${huge}) { nodes { id } } }`, "after"],
    ["stopRun", `mutation { stopRun(id: ${huge}) { id } }`, "id"],
    ["resumeRun", `mutation { resumeRun(id: ${huge}) { id } }`, "id"],
    ["resumeRun's checkpoint", `mutation { resumeRun(id: "x", checkpointId: ${huge}) { id } }`, "checkpointId"],
    ["deleteRun", `mutation { deleteRun(id: ${huge}) }`, "id"],
    ["generate", `mutation { generate(checkpointId: ${huge}) { id } }`, "checkpointId"],
  ];

  it.each(operations)("%s refuses an id too long to be one, without repeating it", async (_name, query, field) => {
    const res = await server.gql(query);
    expect(JSON.stringify(res).length).toBeLessThan(SHORT_ANSWER_BYTES);
    expect(byField(res.errors ?? [])).toEqual({ [field]: `${field}: must be at most ${MAX_ID_LENGTH} characters: no id or cursor is longer` });
  });

  it.each([
    ["runProgress", `subscription ($runId: ID!) { runProgress(runId: $runId) { iteration } }`],
    ["runUpdated", `subscription ($runId: ID) { runUpdated(runId: $runId) { id } }`],
  ])("%s refuses an id too long to be one, over WebSocket", async (_name, query) => {
    const errors = await overWebSocket(query, { runId: HUGE });
    expect(JSON.stringify(errors).length).toBeLessThan(SHORT_ANSWER_BYTES);
    expect(byField(errors)).toEqual({ runId: `runId: must be at most ${MAX_ID_LENGTH} characters: no id or cursor is longer` });
  });

  it.each([
    ["a huge string where a number belongs", `query ($first: Int) { runs(first: $first) { nodes { id } } }`, { first: HUGE }, "BAD_USER_INPUT"],
    ["the same with spaces in it", `query ($first: Int) { runs(first: $first) { nodes { id } } }`, { first: "x ".repeat(HUGE.length / 2) }, "BAD_USER_INPUT"],
    ["a huge enum value", `query ($status: RunStatus) { runs(status: $status) { nodes { id } } }`, { status: HUGE }, "BAD_USER_INPUT"],
    ["a huge input field name", START, { input: { [HUGE]: 1 } }, "BAD_USER_INPUT"],
    ["a huge literal where a number belongs", `{ runs(first: "${HUGE}") { nodes { id } } }`, {}, "GRAPHQL_VALIDATION_FAILED"],
  ])("answers %s with a short error, not the value again", async (_name, query, variables, code) => {
    const res = await server.gql(query, variables);
    expect(JSON.stringify(res).length).toBeLessThan(SHORT_ANSWER_BYTES);
    expect(res.errors?.[0]?.extensions?.code).toBe(code);
  });

  it("looks up an id at the bound as usual, and refuses one a character longer", async () => {
    const stop = async (id: string) => byField((await server.gql(`mutation { stopRun(id: "${id}") { id } }`)).errors ?? []);
    const longest = "i".repeat(MAX_ID_LENGTH);
    expect(await stop(longest)).toEqual({ id: `id: no run ${longest}` });
    expect(await stop(`${longest}i`)).toEqual({ id: `id: must be at most ${MAX_ID_LENGTH} characters: no id or cursor is longer` });
  });
});

describe.skipIf(SKIP_BROWSER)("the dashboard's start form", () => {
  let browser: Browser;
  afterAll(async () => {
    await browser?.close();
  });

  it("shows each of the server's errors beside its own field", async () => {
    const build = fileURLToPath(new URL("../dist/web/index.html", import.meta.url));
    if (!existsSync(build)) throw new Error(`the dashboard is not built (${build} is missing): run npm run build`);
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${server.origin}/#/new`);
    await page.locator("select[name=backend] option[value=CPU]").waitFor({ state: "attached" });
    await page.selectOption("select[name='dataset.kind']", "SYNTHETIC");
    await page.fill("input[name=imageSize]", "30");
    await page.fill("input[name=batchSize]", "1");
    await page.fill("input[name=channels]", "2");
    await page.getByRole("button", { name: "Start run" }).click();
    await expect.poll(() => page.locator('[data-field="imageSize"]').textContent()).toMatch(/power of two/);
    expect(await page.locator('[data-field="batchSize"]').textContent()).toMatch(/whole number from 2 to 65536/);
    expect(await page.locator('[data-field="channels"]').textContent()).toMatch(/must be 1 or 3/);
    expect(await page.locator(".field-error").count()).toBe(3);
    expect(await storedRunIds()).toEqual([]);
  });
});
