import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRIC_COLUMNS } from "../src/engine/metrics.js";
import { launchChromium, OUTPUT_DIR, SKIP_BROWSER } from "./browser-helpers.js";
import { startTestServer, type TestServer } from "./server-helpers.js";

const BUILD = fileURLToPath(new URL("../dist/web/index.html", import.meta.url));

/** Small enough for the pure-JS backend to run many iterations a second. */
const TINY = { imageSize: "16", nz: "8", ngf: "4", ndf: "4", batchSize: "8", sampleEvery: "5", checkpointEvery: "20" };

async function pointsIn(page: Page, selector: string): Promise<number> {
  return Number(await page.locator(selector).getAttribute("data-points"));
}

/** The bits of the page's DOM these checks read; the tests compile without the DOM library. */
interface PageDom {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null; naturalWidth?: number } | null };
  getComputedStyle(element: unknown): { borderTopStyle: string };
}

/** The values a chart's legend shows with the pointer off the chart. */
async function legendValues(page: Page, chart: string): Promise<string[]> {
  await page.mouse.move(0, 0);
  return page.locator(`${chart} .u-legend .u-value`).allTextContents();
}

/** A legend's values are numbers: the iteration, then each line's (uPlot writes "--" for none). */
function expectNumbers(values: string[]): void {
  expect(values.length).toBeGreaterThan(2);
  for (const value of values) expect(value).toMatch(/^-?\d[\d,.]*$/);
}

/** How each line in a chart's legend is drawn: "solid" or "dashed" (the first row is the iteration's). */
function legendStrokes(page: Page, chart: string): Promise<string[]> {
  return page
    .locator(`${chart} .u-legend .u-series:not(:first-child) .u-marker`)
    .evaluateAll((markers) => markers.map((marker) => (globalThis as unknown as PageDom).getComputedStyle(marker).borderTopStyle));
}

/** Waits until the chart in `selector` holds more than `count` points. */
async function waitForPoints(page: Page, selector: string, count: number): Promise<void> {
  await page.waitForFunction(
    ([sel, n]) => Number((globalThis as unknown as PageDom).document.querySelector(sel)?.getAttribute("data-points")) > n,
    [selector, count] as const,
  );
}

/** Waits until the image in `selector` is decoded, and returns its width. */
async function decodedWidth(page: Page, selector: string): Promise<number> {
  const handle = await page.waitForFunction((sel) => (globalThis as unknown as PageDom).document.querySelector(sel)?.naturalWidth || undefined, selector);
  return Number(await handle.jsonValue());
}

describe.skipIf(SKIP_BROWSER)("the dashboard, in headless Chromium against a real server", () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const problems: string[] = [];
  let firstRun = "";

  beforeAll(async () => {
    if (!existsSync(BUILD)) throw new Error(`the dashboard is not built (${BUILD} is missing): run npm run build`);
    server = await startTestServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    context.on("request", (request) => requests.push(request.url()));
    // The page waits for training (a process to start, iterations, a run to complete): on a
    // loaded machine that outlasts Playwright's 30 s, so the test's own timeout bounds it.
    context.setDefaultTimeout(110_000);
    page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("loads from the server alone, with no console errors", async () => {
    await page.goto(`${server.origin}/`);
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    await page.getByText("No runs yet").waitFor();
    expect(requests.length).toBeGreaterThan(2); // the page, its script and its stylesheet at least
    expect(requests.filter((url) => new URL(url).hostname !== "127.0.0.1")).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("shows the server's validation error beside the field, and stores nothing", async () => {
    await page.getByRole("link", { name: "New run" }).first().click();
    await page.locator("select[name=backend] option[value=CPU]").waitFor({ state: "attached" });
    // The CPU preset trains a few minutes' worth of iterations, not the tutorial's 5 epochs (an hour on a CPU).
    await page.getByRole("button", { name: /Fast on a CPU/ }).click();
    expect(Number(await page.inputValue("input[name=iterations]"))).toBeGreaterThan(0);
    expect(await page.inputValue("input[name=epochs]")).toBe("");
    await page.fill("input[name=imageSize]", "17");
    await page.getByRole("button", { name: "Start run" }).click();
    await expect.poll(() => page.locator('[data-field="imageSize"]').textContent()).toMatch(/power of two/);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-start.png`, fullPage: true });
    const { data } = await server.gql<{ runs: { nodes: unknown[] } }>("{ runs { nodes { id } } }");
    expect(data!.runs.nodes).toEqual([]);
  });

  it("starts a run from the form, and its loss chart gains points live", async () => {
    await page.selectOption("select[name='dataset.kind']", "SYNTHETIC");
    await page.selectOption("select[name=backend]", "CPU");
    await page.fill("input[name=name]", "first");
    for (const [name, value] of Object.entries(TINY)) await page.fill(`input[name=${name}]`, value);
    await page.fill("input[name=iterations]", "1000000");
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/#\/runs\/.+/);
    firstRun = decodeURIComponent(page.url().split("/").pop()!);
    await page.locator('[data-status="RUNNING"]').waitFor();
    await waitForPoints(page, "#loss-chart .chart", 0);
    const before = await pointsIn(page, "#loss-chart .chart");
    await waitForPoints(page, "#loss-chart .chart", before);
    expect(await pointsIn(page, "#d-chart .chart")).toBeGreaterThan(before);
    expect(await page.locator("#loss-chart canvas").count()).toBe(1);
    // Without the pointer on them, the legends show the latest iteration and values.
    for (const chart of ["#loss-chart", "#d-chart"]) expectNumbers(await legendValues(page, chart));
    expect(await legendStrokes(page, "#d-chart")).toEqual(["solid", "solid", "dashed"]);
  });

  it("writes the configuration's enum values as the rest of the page does", async () => {
    const keys = await page.locator("table.config th").allTextContents();
    const values = await page.locator("table.config td").allTextContents();
    expect(Object.fromEntries(keys.map((key, i) => [key, values[i]]))).toMatchObject({ backend: "cpu", dataset: "synthetic" });
  });

  it("shows the fixed-noise grid as a real PNG in the sample timeline", async () => {
    const fake = page.locator("#fake-grid");
    await fake.waitFor();
    expect(await fake.getAttribute("src")).toMatch(/^\/files\/samples\/.+\.png$/);
    // make_grid's layout: 8 images of 16 pixels a row, 2 pixels around each.
    expect(await decodedWidth(page, "#fake-grid")).toBe(8 * (16 + 2) + 2);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-run.png`, fullPage: true });
  });

  it("stops the run from its Stop button, and generates images from a checkpoint", async () => {
    await page.locator("#stop-run").click();
    await page.locator('.toolbar [data-status="STOPPED"]').waitFor();
    expect(await page.locator("#stop-run").isDisabled()).toBe(true);
    expect(await page.locator("#resume-run").isEnabled()).toBe(true);
    await page.getByRole("button", { name: "generate" }).first().click();
    expect(await decodedWidth(page, "#generated-grid")).toBe(8 * (16 + 2) + 2);
  });

  it("exports the run's metrics as CSV", async () => {
    const response = await fetch(`${server.origin}/files/metrics/${firstRun}.csv`);
    expect(response.headers.get("content-type")).toMatch(/^text\/csv/);
    const [header, ...rows] = (await response.text()).trim().split("\n");
    expect(header).toBe(METRIC_COLUMNS.join(","));
    const { data } = await server.gql<{ run: { iteration: number } }>(`{ run(id: "${firstRun}") { iteration } }`);
    expect(rows).toHaveLength(data!.run.iteration);
    expect(rows[0]!.split(",")[0]).toBe("1");
  });

  it("overlays two runs' losses in the compare view, picked in the runs list", async () => {
    const { data } = await server.gql<{ startRun: { id: string } }>(
      `mutation { startRun(input: { name: "second", imageSize: 16, nz: 8, ngf: 4, ndf: 4, batchSize: 8, iterations: 30, seed: 7, backend: CPU }) { id } }`,
    );
    await page.goto(`${server.origin}/#/`);
    const secondRow = page.locator(`tr[data-run-id="${data!.startRun.id}"]`);
    await secondRow.locator('[data-status="COMPLETED"]').waitFor();
    await page.getByLabel("select first").check();
    await page.getByLabel("select second").check();
    await page.locator("#compare-selected").click();
    await page.waitForURL(/#\/compare\//);
    const chart = page.locator("#compare-charts .chart");
    await chart.waitFor();
    expect(await chart.getAttribute("data-series")).toBe("4");
    expect(Number(await chart.getAttribute("data-points"))).toBeGreaterThanOrEqual(30);
    expect(await page.locator(".legend li").allTextContents()).toEqual([expect.stringMatching(/^ ?first/), expect.stringMatching(/^ ?second/)]);
    // Loss_D solid and Loss_G dashed, each with its own legend line.
    expect(await legendStrokes(page, "#compare-charts")).toEqual(["solid", "solid", "dashed", "dashed"]);
    expectNumbers(await legendValues(page, "#compare-charts"));
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-compare.png`, fullPage: true });
  });

  it("deletes a finished run from its page, after asking", async () => {
    const { data } = await server.gql<{ runs: { nodes: { id: string; name: string }[] } }>("{ runs { nodes { id name } } }");
    const second = data!.runs.nodes.find((r) => r.name === "second")!;
    await page.goto(`${server.origin}/#/runs/${second.id}`);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator("#delete-run").click();
    await page.waitForURL(/#\/$/);
    await page.getByRole("link", { name: "first" }).waitFor();
    expect(await page.locator(`tr[data-run-id="${second.id}"]`).count()).toBe(0);
    const after = await server.gql<{ run: unknown }>(`{ run(id: "${second.id}") { id } }`);
    expect(after.data!.run).toBeNull();
    expect(problems).toEqual([]);
    expect(requests.filter((url) => new URL(url).hostname !== "127.0.0.1")).toEqual([]);
  });
});
