import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseTrainConfig } from "../src/engine/config.js";
import { METRIC_COLUMNS, type IterationMetrics } from "../src/engine/metrics.js";
import { launchChromium, OUTPUT_DIR, SKIP_BROWSER } from "./browser-helpers.js";
import { TINY_RUN, TINY_SHAPE } from "./helpers.js";
import { waitForStatus } from "./process-helpers.js";
import { startTestServer, type TestServer } from "./server-helpers.js";

const BUILD = fileURLToPath(new URL("../dist/web/index.html", import.meta.url));

/** The tiny model with a sample every 5 iterations: the pure-JS backend runs many iterations a second. */
const RUN = { ...TINY_RUN, batchSize: 8, sampleEvery: 5, checkpointEvery: 20 };
/** RUN's numbers as the start form's fields take them (channels: the dataset's; the backend is a select). */
const { channels: _channels, backend: _backend, ...FORM_NUMBERS } = RUN;
const FORM = Object.entries(FORM_NUMBERS).map(([name, value]) => [name, String(value)] as const);
const STILL_ACTIVE = ["QUEUED", "RUNNING"];
/** The learning rate RUN trains with: the tutorial's. */
const RUN_LR = parseTrainConfig({}).lr;

async function pointsIn(page: Page, selector: string): Promise<number> {
  return Number(await page.locator(selector).getAttribute("data-points"));
}

/** A row of Sweep.table, as the sweep tests ask for it. */
interface SweepTableRow {
  run: { id: string; name: string; status: string };
  params: { field: string; value: number }[];
  final: { lossD: number } | null;
}

/** The bits of the page's DOM these checks read; the tests compile without the DOM library. */
interface PageDom {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null; naturalWidth?: number } | null };
  getComputedStyle(element: unknown): { borderTopStyle: string; imageRendering: string };
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

/**
 * A finished run with a long history, stored directly (training it would take far too long):
 * a slow wave with per-iteration jitter, which shows only at full resolution.
 */
async function storeHistory(server: TestServer, name: string, iterations: number, shift = 0): Promise<string> {
  const { id } = await server.service.store.createRun({ name, config: parseTrainConfig({ iterations }) });
  for (let first = 1; first <= iterations; first += 5000) {
    const rows = Array.from({ length: Math.min(5000, iterations - first + 1) }, (_, i): IterationMetrics => {
      const iteration = first + i;
      const jitter = ((iteration * 7919) % 101) / 404;
      const lossD = 0.8 + shift + 0.3 * Math.sin(iteration / 9000) + jitter;
      const lossG = 2 + shift + 0.6 * Math.cos(iteration / 13000) - jitter;
      return { iteration, epoch: 0, batch: iteration, lossD, lossG, dX: 0.7 - jitter / 2, dGz1: 0.3 + jitter / 2, dGz2: 0.25 + jitter / 3, errDReal: 0.5, errDFake: 0.3, imagesPerSecond: 100, timestamp: iteration };
    });
    await server.service.store.addMetrics(id, rows);
  }
  await server.service.store.updateRun(id, { status: "COMPLETED", iteration: iterations });
  return id;
}

describe.skipIf(SKIP_BROWSER)("the dashboard, in headless Chromium against a real server", () => {
  // Each test sets up what it needs (its own runs, a new page) and can run alone with -t.
  /** Never gets a run: for the empty runs list and the refused form. */
  let empty: TestServer;
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let requests: string[];
  let problems: string[];

  beforeAll(async () => {
    if (!existsSync(BUILD)) throw new Error(`the dashboard is not built (${BUILD} is missing): run npm run build`);
    empty = await startTestServer();
    server = await startTestServer();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    requests = [];
    problems = [];
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

  // Every page: no console errors, nothing fetched from another host; no run left training for the next test.
  afterEach(async () => {
    await context.close();
    const { data } = await server.gql<{ runs: { nodes: { id: string; status: string }[] } }>("{ runs { nodes { id status } } }");
    for (const { id } of data!.runs.nodes.filter((r) => STILL_ACTIVE.includes(r.status))) {
      await server.gql(`mutation ($id: ID!) { stopRun(id: $id) { id } }`, { id });
      await waitForStatus(server.service.url, id, ["STOPPED", "COMPLETED", "FAILED"]);
    }
    expect(problems).toEqual([]);
    expect(requests.filter((url) => new URL(url).hostname !== "127.0.0.1")).toEqual([]);
  });

  /** A run started over GraphQL (RUN with `fields`), once it reaches `status`. */
  async function startRun(fields: Record<string, unknown>, status = "COMPLETED"): Promise<string> {
    const { data, errors } = await server.gql<{ startRun: { id: string } }>(`mutation ($input: StartRunInput!) { startRun(input: $input) { id } }`, { input: { ...RUN, ...fields } });
    if (!data) throw new Error(JSON.stringify(errors));
    const reached = await waitForStatus<{ status: string; error: string | null }>(server.service.url, data.startRun.id, [status, "FAILED"]);
    if (reached.status !== status) throw new Error(`run ${fields.name} ${reached.status}: ${reached.error}`);
    return data.startRun.id;
  }

  /** The start form, with the CPU preset: a few minutes' worth of iterations, not the tutorial's 5 epochs (an hour on a CPU). */
  async function openStartForm(origin: string): Promise<void> {
    await page.goto(`${origin}/`);
    await page.getByRole("link", { name: "New run" }).first().click();
    await page.locator("select[name=backend] option[value=CPU]").waitFor({ state: "attached" });
    await page.getByRole("button", { name: /Fast on a CPU/ }).click();
  }

  it("loads from the server alone, with no console errors", async () => {
    await page.goto(`${empty.origin}/`);
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    await page.getByText("No runs yet").waitFor();
    expect(requests.length).toBeGreaterThan(2); // the page, its script and its stylesheet at least
  });

  it("shows the server's validation error beside the field, and stores nothing", async () => {
    await openStartForm(empty.origin);
    expect(Number(await page.inputValue("input[name=iterations]"))).toBeGreaterThan(0);
    expect(await page.inputValue("input[name=epochs]")).toBe("");
    await page.fill("input[name=imageSize]", "17");
    await page.getByRole("button", { name: "Start run" }).click();
    await expect.poll(() => page.locator('[data-field="imageSize"]').textContent()).toMatch(/power of two/);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-start.png`, fullPage: true });
    const { data } = await empty.gql<{ runs: { nodes: unknown[] } }>("{ runs { nodes { id } } }");
    expect(data!.runs.nodes).toEqual([]);
  });

  it("starts a run from the form, and its loss chart gains points live", async () => {
    await openStartForm(server.origin);
    await page.selectOption("select[name='dataset.kind']", "SYNTHETIC");
    await page.selectOption("select[name=backend]", "CPU");
    await page.fill("input[name=name]", "from the form");
    for (const [name, value] of FORM) await page.fill(`input[name=${name}]`, value);
    await page.fill("input[name=iterations]", "1000000");
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/#\/runs\/.+/);
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
    const id = await startRun({ name: "enums", iterations: 2 });
    await page.goto(`${server.origin}/#/runs/${id}`);
    await page.locator("table.config td").first().waitFor();
    const keys = await page.locator("table.config th").allTextContents();
    const values = await page.locator("table.config td").allTextContents();
    expect(Object.fromEntries(keys.map((key, i) => [key, values[i]]))).toMatchObject({ backend: "cpu", dataset: "synthetic" });
  });

  it("shows the fixed-noise grid as a real PNG in the sample timeline", async () => {
    const id = await startRun({ name: "samples", iterations: 10 });
    await page.goto(`${server.origin}/#/runs/${id}`);
    const fake = page.locator("#fake-grid");
    await fake.waitFor();
    expect(await fake.getAttribute("src")).toMatch(/^\/files\/samples\/.+\.png$/);
    // make_grid's layout: 8 images of 16 pixels a row, 2 pixels around each.
    expect(await decodedWidth(page, "#fake-grid")).toBe(8 * (TINY_SHAPE.imageSize + 2) + 2);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-run.png`, fullPage: true });
  });

  it("charts the fixed-noise grids' diversity, and marks a run whose diversity fell in the list and on its page", async () => {
    const id = await startRun({ name: "collapsing", iterations: 10, sampleEvery: 2 });
    const { store } = server.service;
    const grids = (await store.listSamples(id)).filter((s) => s.kind === "FIXED_NOISE");
    expect(grids.map((s) => s.iteration)).toEqual([2, 4, 6, 8, 10]);
    for (const grid of grids) expect(grid.diversity).toBeGreaterThan(0);
    // Then G collapses (simulated): a grid of one image again and again, diversity 0.
    const last = grids.at(-1)!;
    await store.addSample({ runId: id, iteration: last.iteration, epoch: last.epoch, kind: "FIXED_NOISE", bytes: last.bytes, path: last.path, diversity: 0 });

    await page.goto(`${server.origin}/#/`);
    const badge = page.locator(`tr[data-run-id="${id}"] .collapse-warning`);
    await badge.waitFor();
    expect(await badge.textContent()).toBe("collapse?");
    expect(await badge.getAttribute("title")).toMatch(/^sample diversity fell to 0\.000 at iteration 10, under 50% of its peak/);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-collapse-list.png`, fullPage: true });

    await page.goto(`${server.origin}/#/runs/${id}`);
    await page.locator(".toolbar .collapse-warning").waitFor();
    expect(await page.locator(".collapse-warning-text").textContent()).toMatch(/^Warning: sample diversity fell to 0\.000/);
    // Five grids: the collapsed one in place of the first at its iteration.
    await waitForPoints(page, "#diversity-chart .chart", 4);
    expect(await legendValues(page, "#diversity-chart")).toEqual(["10", "0"]);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-collapse-run.png`, fullPage: true });
  });

  it("stops the run from its Stop button, and generates images from a checkpoint", async () => {
    const id = await startRun({ name: "to stop", iterations: 1_000_000 }, "RUNNING");
    await page.goto(`${server.origin}/#/runs/${id}`);
    // Some iterations first: a run stopped before its first one has no checkpoint.
    await waitForPoints(page, "#loss-chart .chart", 0);
    await page.locator("#stop-run").click();
    await page.locator('.toolbar [data-status="STOPPED"]').waitFor();
    expect(await page.locator("#stop-run").isDisabled()).toBe(true);
    expect(await page.locator("#resume-run").isEnabled()).toBe(true);
    await page.getByRole("button", { name: "generate" }).first().click();
    expect(await decodedWidth(page, "#generated-grid")).toBe(8 * (TINY_SHAPE.imageSize + 2) + 2);
  });

  it("exports the run's metrics as CSV", async () => {
    const id = await startRun({ name: "csv", iterations: 12 });
    const response = await fetch(`${server.origin}/files/metrics/${id}.csv`);
    expect(response.headers.get("content-type")).toMatch(/^text\/csv/);
    const [header, ...rows] = (await response.text()).trim().split("\n");
    expect(header).toBe(METRIC_COLUMNS.join(","));
    expect(rows).toHaveLength(12);
    expect(rows[0]!.split(",")[0]).toBe("1");
  });

  it("overlays two runs' losses in the compare view, picked in the runs list", async () => {
    const first = await startRun({ name: "compared first", iterations: 30 });
    const second = await startRun({ name: "compared second", iterations: 30, seed: 7 });
    await page.goto(`${server.origin}/#/`);
    for (const id of [first, second]) await page.locator(`tr[data-run-id="${id}"] [data-status="COMPLETED"]`).waitFor();
    await page.getByLabel("select compared first").check();
    await page.getByLabel("select compared second").check();
    await page.locator("#compare-selected").click();
    await page.waitForURL(/#\/compare\//);
    const chart = page.locator("#compare-charts .chart");
    await chart.waitFor();
    expect(await chart.getAttribute("data-series")).toBe("4");
    expect(Number(await chart.getAttribute("data-points"))).toBeGreaterThanOrEqual(30);
    expect(await page.locator(".legend li").allTextContents()).toEqual([expect.stringMatching(/^ ?compared first/), expect.stringMatching(/^ ?compared second/)]);
    // Loss_D solid and Loss_G dashed, each with its own legend line.
    expect(await legendStrokes(page, "#compare-charts")).toEqual(["solid", "solid", "dashed", "dashed"]);
    expectNumbers(await legendValues(page, "#compare-charts"));
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-compare.png`, fullPage: true });
  });

  it("shows the compared runs' fixed-noise grids side by side at the slider's iteration, each run's nearest", async () => {
    // Grids at 10, 20, 30 and at 15, 30 (every sampleEvery iterations, and the last).
    const tens = await startRun({ name: "grids every 10", iterations: 30, sampleEvery: 10 });
    const fifteens = await startRun({ name: "grids every 15", iterations: 30, sampleEvery: 15, seed: 7 });
    await page.goto(`${server.origin}/#/compare/${tens},${fifteens}`);
    const slider = page.getByLabel("compared samples' iteration");
    await slider.waitFor();
    /** The iteration of the grid each run shows, read from its figure once the image is decoded. */
    const shown = async () => {
      for (const id of [tens, fifteens]) await decodedWidth(page, `#sample-compare [data-run-id="${id}"] img`);
      return Promise.all([tens, fifteens].map(async (id) => Number(await page.locator(`#sample-compare [data-run-id="${id}"]`).getAttribute("data-iteration"))));
    };
    const caption = (id: string) => page.locator(`#sample-compare [data-run-id="${id}"] figcaption`).textContent();
    // One slider over the union of their iterations, at the latest.
    expect([await slider.getAttribute("max"), await slider.inputValue()]).toEqual(["3", "3"]);
    expect(await shown()).toEqual([30, 30]);
    // From the keyboard: Home is iteration 10, where the other run's nearest is 15.
    await slider.focus();
    await page.keyboard.press("Home");
    expect(await shown()).toEqual([10, 15]);
    expect(await caption(tens)).toMatch(/^ ?grids every 10\s*iteration 10 \(epoch \d+\)$/);
    expect(await caption(fifteens)).toMatch(/^ ?grids every 15\s*iteration 15 \(epoch \d+\)$/);
    // 15: 10 and 20 are as near; the earlier wins.
    await page.keyboard.press("ArrowRight");
    expect(await shown()).toEqual([10, 15]);
    await page.keyboard.press("ArrowRight");
    expect(await shown()).toEqual([20, 15]);
    expect(await page.locator("#sample-compare .timeline").textContent()).toContain("iteration 20");
    // Pixels stay crisp when the grid is scaled up.
    expect(await page.locator(`#sample-compare [data-run-id="${tens}"] img`).evaluate((img) => (globalThis as unknown as PageDom).getComputedStyle(img).imageRendering)).toBe("pixelated");
    await page.mouse.move(0, 0);
    await page.screenshot({ path: `${OUTPUT_DIR}compare-samples.png`, fullPage: true });
  });

  it("keeps the compared samples' slider at the latest as a running run adds grids, and where it was put otherwise", async () => {
    const finished = await startRun({ name: "finished grids", iterations: 10, sampleEvery: 5 });
    const live = await startRun({ name: "live grids", iterations: 1_000_000, sampleEvery: 5 }, "RUNNING");
    await page.goto(`${server.origin}/#/compare/${finished},${live}`);
    const slider = page.getByLabel("compared samples' iteration");
    const iterationOf = async (id: string) => Number(await page.locator(`#sample-compare [data-run-id="${id}"]`).getAttribute("data-iteration"));
    const atEnd = () => slider.evaluate((input) => (input as unknown as { value: string; max: string }).value === (input as unknown as { max: string }).max);
    await expect.poll(() => iterationOf(live), { timeout: 60_000 }).toBeGreaterThan(20);
    const seen = await iterationOf(live);
    await expect.poll(() => iterationOf(live), { timeout: 60_000 }).toBeGreaterThan(seen);
    expect(await atEnd()).toBe(true);
    expect(await iterationOf(finished)).toBe(10);
    // Moved off the end, it stays where it was put while grids keep coming.
    await slider.focus();
    await page.keyboard.press("Home");
    const max = Number(await slider.getAttribute("max"));
    await expect.poll(async () => Number(await slider.getAttribute("max")), { timeout: 60_000 }).toBeGreaterThan(max);
    expect([await iterationOf(finished), await iterationOf(live), Number(await slider.inputValue())]).toEqual([5, 5, 0]);
  });

  it("zooms the run's charts to full resolution: 1,000 of 200,000 iterations, every one drawn, and back", async () => {
    const id = await storeHistory(server, "long history", 200_000);
    await page.goto(`${server.origin}/#/runs/${id}`);
    const charts = ["#loss-chart .chart", "#d-chart .chart"];
    await waitForPoints(page, charts[0]!, 0);
    const full = await pointsIn(page, charts[0]!);
    expect(full).toBeLessThanOrEqual(2000);
    const state = page.locator(".controls .zoom-state");

    /** Once the charts show a new zoomed range's points: that range, the same on both charts (they zoom together). */
    let shown: string | null = null;
    const zoomed = async (): Promise<{ from: number; to: number; points: number }> => {
      await expect.poll(() => page.locator(charts[0]!).getAttribute("data-zoom")).not.toBe(shown);
      await expect.poll(() => state.textContent()).toMatch(/^(every iteration|\d+ points, evenly spaced)$/);
      const ranges = await Promise.all(charts.map((chart) => page.locator(chart).getAttribute("data-zoom")));
      const counts = await Promise.all(charts.map((chart) => pointsIn(page, chart)));
      expect(ranges[1]).toBe(ranges[0]);
      expect(counts[1]).toBe(counts[0]);
      shown = ranges[0]!;
      const [from, to] = ranges[0]!.split("-").map(Number);
      // The range fields show it too.
      expect([await page.inputValue("input[name=zoom-from]"), await page.inputValue("input[name=zoom-to]")]).toEqual([String(from), String(to)]);
      return { from: from!, to: to!, points: counts[0]! };
    };
    /** Drags across the loss chart from `start` to `end`, fractions of its plot's width: uPlot's x selection. */
    const drag = async (start: number, end: number) => {
      const box = (await page.locator("#loss-chart .u-over").boundingBox())!;
      const y = box.y + box.height / 2;
      await page.mouse.move(box.x + box.width * start, y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * end, y, { steps: 8 });
      await page.mouse.up();
    };

    // A fifth of the run: more iterations than points, so evenly spaced ones, more than the full view had there.
    await drag(0.4, 0.6);
    const wide = await zoomed();
    expect(wide.to - wide.from).toBeGreaterThan(30_000);
    expect(wide.points).toBeGreaterThan(1900);
    expect(wide.points).toBeLessThanOrEqual(2000);
    // Zooming further fetches again; a range narrower than 2,000 iterations comes back whole.
    const before = await state.textContent();
    await drag(0.49, 0.51);
    const narrow = await zoomed();
    expect(before).not.toBe("every iteration");
    expect(narrow.from).toBeGreaterThan(wide.from);
    expect(narrow.to - narrow.from + 1).toBeLessThan(2000);
    expect(narrow.points).toBe(narrow.to - narrow.from + 1);
    // A range typed in: exactly the 1,000 iterations in it are drawn.
    await page.fill("input[name=zoom-from]", "100001");
    await page.fill("input[name=zoom-to]", "101000");
    await page.press("input[name=zoom-to]", "Enter");
    expect(await zoomed()).toEqual({ from: 100001, to: 101000, points: 1000 });
    // The legend's latest values are the range's last iteration's.
    expect((await legendValues(page, "#loss-chart"))[0]).toBe("101,000");
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-zoom.png`, fullPage: true });
    // Reset: the downsampled full view again.
    await page.locator("#reset-zoom").click();
    await expect.poll(() => page.locator(charts[0]!).getAttribute("data-zoom")).toBeNull();
    shown = null;
    for (const chart of charts) expect(await pointsIn(page, chart)).toBe(full);
    expect((await legendValues(page, "#loss-chart"))[0]).toBe("200,000");
    // So does a double-click, uPlot's usual.
    await drag(0.2, 0.3);
    await zoomed();
    await page.locator("#d-chart .u-over").dblclick();
    await expect.poll(() => page.locator(charts[1]!).getAttribute("data-zoom")).toBeNull();
    expect(await pointsIn(page, charts[1]!)).toBe(full);
  });

  it("zooms the compare chart to full resolution, each run's iterations in the range, and back", async () => {
    const first = await storeHistory(server, "zoomed first", 30_000);
    const second = await storeHistory(server, "zoomed second", 20_000, 0.5);
    await page.goto(`${server.origin}/#/compare/${first},${second}`);
    const chart = "#compare-charts .chart";
    await waitForPoints(page, chart, 0);
    const full = await pointsIn(page, chart);
    expect(full).toBeLessThanOrEqual(4000);
    // A drag from a tenth to a fifth of the way (3,000 to 6,000): more iterations than points.
    const box = (await page.locator("#compare-charts .u-over").boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    await expect.poll(() => page.locator(".controls .zoom-state").textContent()).toBe("2000 points, evenly spaced");
    const [from, to] = (await page.locator(chart).getAttribute("data-zoom"))!.split("-").map(Number);
    expect(to! - from!).toBeGreaterThan(2000);
    // Both runs' iterations in 19,501 to 20,500: the second one's end at 20,000, every one drawn (the union, once each).
    await page.fill("input[name=zoom-from]", "19501");
    await page.fill("input[name=zoom-to]", "20500");
    await page.press("input[name=zoom-to]", "Enter");
    await expect.poll(() => page.locator(chart).getAttribute("data-zoom")).toBe("19501-20500");
    await expect.poll(() => page.locator(".controls .zoom-state").textContent()).toBe("every iteration");
    expect(await pointsIn(page, chart)).toBe(1000);
    expect((await legendValues(page, "#compare-charts"))[0]).toBe("20,500");
    await page.locator("#compare-charts .u-over").dblclick();
    await expect.poll(() => page.locator(chart).getAttribute("data-zoom")).toBeNull();
    expect(await pointsIn(page, chart)).toBe(full);
  });

  it("keeps a live run's new iterations while its charts are zoomed, and draws them on zooming out", async () => {
    const id = await startRun({ name: "zoomed live", iterations: 1_000_000 }, "RUNNING");
    await page.goto(`${server.origin}/#/runs/${id}`);
    await waitForPoints(page, "#loss-chart .chart", 2);
    await page.fill("input[name=zoom-from]", "1");
    await page.fill("input[name=zoom-to]", "3");
    await page.press("input[name=zoom-to]", "Enter");
    await expect.poll(() => page.locator(".controls .zoom-state").textContent()).toBe("every iteration");
    const reached = async () => parseInt((await page.locator("#run-iteration").textContent())!, 10);
    const zoomedAt = await reached();
    // Training goes on; the zoomed charts stay on their range.
    await expect.poll(reached, { timeout: 60_000 }).toBeGreaterThan(zoomedAt + 5);
    expect(await pointsIn(page, "#loss-chart .chart")).toBe(3);
    const since = await reached();
    await page.locator("#reset-zoom").click();
    await expect.poll(() => page.locator("#loss-chart .chart").getAttribute("data-zoom")).toBeNull();
    const [latest] = await legendValues(page, "#loss-chart");
    expect(Number(latest!.replaceAll(",", ""))).toBeGreaterThanOrEqual(since);
  });

  it("forks a run from a checkpoint with a new lr; the fork's charts show the parent's history dimmed up to the fork", async () => {
    const parent = await startRun({ name: "fork parent", iterations: 40 });
    await page.goto(`${server.origin}/#/runs/${parent}`);
    await page.locator('.fork-checkpoint[data-iteration="20"]').click();
    const form = page.locator("#fork-form");
    expect(await form.locator("input[name=lr]").inputValue()).toBe(String(RUN_LR));
    expect(await form.locator("input[name=iterations]").inputValue()).toBe("40");
    await form.locator("input[name=lr]").fill("0.001");
    await form.getByRole("button", { name: "Fork" }).click();
    await page.waitForURL((url) => url.hash.startsWith("#/runs/") && !url.hash.endsWith(parent));
    await page.locator('.toolbar [data-status="COMPLETED"]').waitFor();
    await page.locator("#fork-of a").waitFor();
    expect(await page.locator("#fork-of").textContent()).toMatch(/Forked at iteration 20 from fork parent/);
    expect(await page.locator("#fork-of a").getAttribute("href")).toBe(`#/runs/${parent}`);
    // The parent's 20 iterations, then the fork's own 21 to 40; its parent's lines dashed, its own solid.
    await page.waitForFunction(() => (globalThis as unknown as PageDom).document.querySelector("#loss-chart .chart")?.getAttribute("data-series") === "4");
    await waitForPoints(page, "#loss-chart .chart", 39);
    expect(await pointsIn(page, "#loss-chart .chart")).toBe(40);
    expect(await page.locator("#loss-chart .u-legend .u-series:not(:first-child) .u-label").allTextContents()).toEqual(["Loss_D (parent)", "Loss_G (parent)", "Loss_D", "Loss_G"]);
    expect(await legendStrokes(page, "#loss-chart")).toEqual(["dashed", "dashed", "solid", "solid"]);
    const config = await page.locator("table.config").textContent();
    expect(config).toMatch(/lr0\.001/);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-fork.png`, fullPage: true });
  });

  it("deletes a finished run from its page, after asking", async () => {
    await startRun({ name: "kept", iterations: 2 });
    const doomed = await startRun({ name: "deleted", iterations: 2 });
    await page.goto(`${server.origin}/#/runs/${doomed}`);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator("#delete-run").click();
    await page.waitForURL(/#\/$/);
    await page.getByRole("link", { name: "kept" }).waitFor();
    expect(await page.locator(`tr[data-run-id="${doomed}"]`).count()).toBe(0);
    const after = await server.gql<{ run: unknown }>(`{ run(id: "${doomed}") { id } }`);
    expect(after.data!.run).toBeNull();
  });

  /** A sweep started over GraphQL, once all its runs have finished: its id, and its table's rows as the API gives them. */
  async function startSweep(input: Record<string, unknown>): Promise<{ id: string; rows: SweepTableRow[] }> {
    const { data, errors } = await server.gql<{ startSweep: { id: string; runs: { id: string }[] } }>(
      `mutation ($input: StartSweepInput!) { startSweep(input: $input) { id runs { id } } }`,
      { input },
    );
    if (!data) throw new Error(JSON.stringify(errors));
    for (const run of data.startSweep.runs) await waitForStatus(server.service.url, run.id, ["COMPLETED", "FAILED"]);
    const table = await server.gql<{ sweep: { table: SweepTableRow[] } }>(
      `query ($id: ID!) { sweep(id: $id) { table { run { id name status } params { field value } final { lossD } } } }`,
      { id: data.startSweep.id },
    );
    return { id: data.startSweep.id, rows: table.data!.sweep.table };
  }

  it("shows a sweep's runs in a table that sorts by any column, compares the runs picked there, and lists the sweep", async () => {
    const base = { ...TINY_RUN, iterations: 6, sampleEvery: 3 };
    const { id, rows } = await startSweep({ name: "lr sweep", base, grid: { lr: [0.0002, 0.001] }, seeds: [1, 2] });
    expect(rows.map((row) => row.run.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"]);

    // From the top navigation: the list, then the sweep's page.
    await page.goto(`${server.origin}/#/`);
    await page.getByRole("navigation").getByRole("link", { name: "Sweeps", exact: true }).click();
    await page.waitForURL(/#\/sweeps$/);
    await page.getByRole("link", { name: "lr sweep" }).click();
    await page.waitForURL(`${server.origin}/#/sweeps/${id}`);
    const table = page.locator("#sweep-table");
    const shownIds = () => table.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as unknown as { getAttribute(name: string): string }).getAttribute("data-run-id")));
    const cells = (column: string) => table.locator(`tbody td[data-column="${column}"]`).allTextContents();
    await expect.poll(shownIds).toEqual(rows.map((row) => row.run.id));

    // One row per run in the grid's order: its lr and seed, the first seed's runs first.
    expect(await table.locator("thead th[data-column]").allTextContents()).toEqual(
      ["name", "status", "lr", "seed", "iteration", "Loss_D", "Loss_G", "D(x)", "D(G(z))", "best Loss_D", "best Loss_G", "diversity"].map((label) => expect.stringMatching(new RegExp(`^${label.replace(/[()]/g, "\\$&")}`))),
    );
    expect(await cells("param.lr")).toEqual(["0.0002", "0.001", "0.0002", "0.001"]);
    expect(await cells("param.seed")).toEqual(["1", "1", "2", "2"]);
    expect(await cells("name")).toEqual(rows.map((row) => row.run.name));
    expect(await cells("iteration")).toEqual(["6 / 6", "6 / 6", "6 / 6", "6 / 6"]);
    expect(await cells("lossD")).toEqual(rows.map((row) => row.final!.lossD.toFixed(3)));
    expect(rows.map((row) => row.params)).toEqual([
      [{ field: "lr", value: 0.0002 }, { field: "seed", value: 1 }],
      [{ field: "lr", value: 0.001 }, { field: "seed", value: 1 }],
      [{ field: "lr", value: 0.0002 }, { field: "seed", value: 2 }],
      [{ field: "lr", value: 0.001 }, { field: "seed", value: 2 }],
    ]);

    // A header sorts by its column, ascending, then descending on a second click.
    const byLossD = [...rows].sort((a, b) => a.final!.lossD - b.final!.lossD).map((row) => row.run.id);
    const header = table.locator('thead th[data-column="lossD"]');
    await header.getByRole("button").click();
    await expect.poll(shownIds).toEqual(byLossD);
    expect(await header.getAttribute("aria-sort")).toBe("ascending");
    await header.getByRole("button").click();
    await expect.poll(shownIds).toEqual([...byLossD].reverse());
    expect(await header.getAttribute("aria-sort")).toBe("descending");
    expect(await table.locator("thead th[aria-sort]").count()).toBe(1);
    // Another column: seed, its ties in the grid's order; the first column is no longer marked sorted.
    const seed = table.locator('thead th[data-column="param.seed"]');
    await seed.getByRole("button").click();
    await seed.getByRole("button").click();
    await expect.poll(shownIds).toEqual([rows[2], rows[3], rows[0], rows[1]].map((row) => row!.run.id));
    expect([await seed.getAttribute("aria-sort"), await header.getAttribute("aria-sort")]).toEqual(["descending", null]);
    await header.getByRole("button").click();
    await expect.poll(shownIds).toEqual(byLossD);

    // Two runs picked: compared alone. Select all picks every run, and again none.
    const compare = page.locator("#compare-selected");
    expect(await compare.isDisabled()).toBe(true);
    const selectAll = page.getByLabel("select all runs");
    await selectAll.check();
    expect(await table.locator("tbody input[type=checkbox]:checked").count()).toBe(4);
    await selectAll.uncheck();
    expect(await table.locator("tbody input[type=checkbox]:checked").count()).toBe(0);
    const [first, second] = [rows.find((row) => row.run.id === byLossD[0])!, rows.find((row) => row.run.id === byLossD[2])!];
    await page.getByLabel(`select ${first.run.name}`, { exact: true }).check();
    expect(await compare.isDisabled()).toBe(true);
    await page.getByLabel(`select ${second.run.name}`, { exact: true }).check();
    expect(await compare.isEnabled()).toBe(true);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-sweep.png`, fullPage: true });
    await compare.click();
    await page.waitForURL(`${server.origin}/#/compare/${first.run.id},${second.run.id}`);
    await page.locator("#compare-charts .chart").waitFor();
    expect(await page.locator(".legend li").allTextContents()).toEqual([expect.stringContaining(first.run.name), expect.stringContaining(second.run.name)]);

    // A run of the sweep links back to it.
    await page.goto(`${server.origin}/#/runs/${first.run.id}`);
    const link = page.locator("#run-sweep");
    await link.waitFor();
    expect([await link.textContent(), await link.getAttribute("href")]).toEqual(["sweep: lr sweep", `#/sweeps/${id}`]);

    // The list: its status, its runs by status, its grid and run count.
    await page.goto(`${server.origin}/#/sweeps`);
    const row = page.locator(`tr[data-sweep-id="${id}"]`);
    await row.waitFor();
    expect(await row.locator("a").getAttribute("href")).toBe(`#/sweeps/${id}`);
    expect(await row.locator('.status[data-status="COMPLETED"]').allTextContents()).toEqual(["completed", "4 completed"]);
    expect(await row.locator(".run-count").textContent()).toBe("4");
    expect(await row.locator(".grid-summary").textContent()).toMatch(/lr 0\.0002, 0\.001\s*seeds 1, 2/);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-sweeps.png`, fullPage: true });
  });

  it("changes a sweep table's smoothing window, and deletes the sweep with its runs after asking", async () => {
    const { id, rows } = await startSweep({ name: "window sweep", base: { ...TINY_RUN, iterations: 6, sampleEvery: 3 }, grid: { lr: [0.0002, 0.001] }, seeds: [1] });
    const twos = await server.gql<{ sweep: { table: SweepTableRow[] } }>(`query ($id: ID!) { sweep(id: $id) { table(window: 2) { run { id name status } params { field value } final { lossD } } } }`, { id });
    await page.goto(`${server.origin}/#/sweeps/${id}`);
    const cells = () => page.locator('#sweep-table tbody td[data-column="lossD"]').allTextContents();
    await expect.poll(cells).toEqual(rows.map((row) => row.final!.lossD.toFixed(3)));
    await page.fill("input[name=window]", "2");
    await page.press("input[name=window]", "Enter");
    await expect.poll(cells).toEqual(twos.data!.sweep.table.map((row) => row.final!.lossD.toFixed(3)));
    expect(await page.locator("#stop-sweep").isDisabled()).toBe(true);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator("#delete-sweep").click();
    await page.waitForURL(/#\/sweeps$/);
    await page.getByRole("heading", { name: "Sweeps" }).waitFor();
    expect(await page.locator(`tr[data-sweep-id="${id}"]`).count()).toBe(0);
    const after = await server.gql<{ sweep: unknown; run: unknown }>(`query ($id: ID!, $run: ID!) { sweep(id: $id) { id } run(id: $run) { id } }`, { id, run: rows[0]!.run.id });
    expect(after.data).toEqual({ sweep: null, run: null });
  });

  it("starts a sweep from the New sweep form, with the server's refusals beside the fields they name", async () => {
    const { data: before } = await server.gql<{ sweeps: { nodes: { id: string }[] } }>("{ sweeps(first: 100) { nodes { id } } }");
    await page.goto(`${server.origin}/#/sweeps`);
    await page.locator("#new-sweep").click();
    const form = page.locator("#sweep-form");
    await form.locator("select[name='base.backend'] option[value=CPU]").waitFor({ state: "attached" });
    await form.locator("select[name='base.dataset.kind']").selectOption("SYNTHETIC");
    await form.locator("select[name='base.backend']").selectOption("CPU");
    for (const [name, value] of FORM) if (name !== "seed") await form.locator(`input[name='base.${name}']`).fill(value);
    await form.locator("input[name='base.epochs']").fill("");
    await form.locator("input[name='base.iterations']").fill("4");
    await form.locator("input[name=name]").fill("form sweep");
    await form.locator("input[name='grid.lr']").fill("0.0002, 0.001");
    // Refused: a seed given twice (the server checks its lists first), then an image size no run can have.
    await form.locator("input[name=seeds]").fill("3, 3");
    await form.getByRole("button", { name: /^Start sweep/ }).click();
    await expect.poll(() => form.locator('[data-field="seeds"]').textContent()).toMatch(/3 is given twice/);
    await form.locator("input[name=seeds]").fill("3");
    await form.locator("input[name='grid.imageSize']").fill("16, 17");
    await form.getByRole("button", { name: "Start sweep (4 runs)" }).click();
    await expect.poll(() => form.locator('[data-field="grid.imageSize"]').textContent()).toMatch(/17: .*power of two/);
    expect(await form.locator('[data-field="seeds"]').count()).toBe(0);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-sweep-form.png`, fullPage: true });
    const { data: refused } = await server.gql<{ sweeps: { nodes: { id: string }[] } }>("{ sweeps(first: 100) { nodes { id } } }");
    expect(refused!.sweeps.nodes).toEqual(before!.sweeps.nodes);

    await form.locator("input[name='grid.imageSize']").fill("");
    await form.getByRole("button", { name: "Start sweep (2 runs)" }).click();
    await page.waitForURL(/#\/sweeps\/.+/);
    const id = decodeURIComponent(new URL(page.url()).hash.replace("#/sweeps/", ""));
    await page.getByRole("heading", { name: "form sweep" }).waitFor();
    await expect.poll(() => page.locator('#sweep-table tbody td[data-column="param.lr"]').allTextContents()).toEqual(["0.0002", "0.001"]);
    expect(await page.locator('#sweep-table tbody td[data-column="param.seed"]').allTextContents()).toEqual(["3", "3"]);
    const { data } = await server.gql<{ sweep: { runs: { config: { iterations: number; backend: string; seed: number } }[] } }>(`query ($id: ID!) { sweep(id: $id) { runs { config { iterations backend seed } } } }`, { id });
    expect(data!.sweep.runs.map((run) => run.config)).toEqual([
      { iterations: 4, backend: "CPU", seed: 3 },
      { iterations: 4, backend: "CPU", seed: 3 },
    ]);
  });

  it("lists this server as the worker training a run, linked, and polls until it has none", async () => {
    const id = await startRun({ name: "trained here", iterations: 1_000_000 }, "RUNNING");
    await page.goto(`${server.origin}/#/`);
    const worker = page.locator("#workers tr[data-worker-id]");
    await worker.locator(`a[data-run-id="${id}"]`).waitFor();
    expect(await worker.count()).toBe(1);
    // The panel shows what Query.workers says: one machine, so this server is the one worker.
    const { data } = await server.gql<{ workers: { host: string; backend: string; adapter: string; concurrency: number }[] }>("{ workers { host backend adapter concurrency } }");
    const [self] = data!.workers;
    expect(self!.host).toBe(hostname());
    const [host, backend, adapter, training, heartbeat] = await worker.locator("td").allTextContents();
    expect([host, backend, adapter]).toEqual([self!.host, self!.backend, self!.adapter]);
    expect(await worker.locator(".slots").textContent()).toBe(`1 of ${self!.concurrency}`);
    expect(training).toContain("trained here");
    expect(await worker.locator(`a[data-run-id="${id}"]`).getAttribute("href")).toBe(`#/runs/${id}`);
    expect(heartbeat).toMatch(/^\d+ s ago$/);
    await page.screenshot({ path: `${OUTPUT_DIR}dashboard-workers.png`, fullPage: true });
    // The poll, not a subscription, brings the stopped run's end.
    await server.gql(`mutation ($id: ID!) { stopRun(id: $id) { id } }`, { id });
    await waitForStatus(server.service.url, id, ["STOPPED", "COMPLETED"]);
    await expect.poll(() => worker.locator(".slots").textContent(), { timeout: 15_000 }).toBe(`0 of ${self!.concurrency}`);
    expect(await worker.locator("a").count()).toBe(0);
  });
});
