import { mkdir, rm, stat } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRAPHIQL_CSP } from "../src/server/http/graphiql.js";
import { startGraphiqlTestServer } from "./graphiql-server.js";
import { tinyRunLiteral } from "./helpers.js";
import { startTestServer } from "./server-helpers.js";
import { launchChromium, OUTPUT_DIR, SKIP_BROWSER } from "./browser-helpers.js";
import type { TestServer } from "./graphiql-server.js";

const SCREENSHOT = `${OUTPUT_DIR}graphiql.png`;

const QUERY_EDITOR = ".graphiql-query-editor";
const RESPONSE_PANE = ".graphiql-response";

/** The bits of a CodeMirror 5 editor element (GraphiQL 3) the test touches in the page. */
interface CodeMirrorElement {
  CodeMirror: {
    getValue(): string;
    setValue(value: string): void;
    /** Set by GraphiQL on the query editor after its debounced re-parse. */
    documentAST?: { definitions: { operation?: string }[] } | null;
  };
}

/**
 * The page's globals, typed without the DOM lib (tsconfig has only ES libs). Used as a
 * type-only cast inside functions that run in the browser (page.evaluate / waitForFunction
 * serialise them, so they cannot call helpers from this file).
 */
interface PageWindow {
  document: { querySelector(selector: string): CodeMirrorElement | null };
}

let server: TestServer;

beforeAll(async () => {
  server = await startGraphiqlTestServer();
});

afterAll(async () => {
  await server?.close();
});

/** The asset URLs (script src / stylesheet href) the page references. */
async function pageAssets(): Promise<{ js: string[]; css: string[] }> {
  const res = await fetch(`${server.origin}/graphql`, { headers: { Accept: "text/html" } });
  const html = await res.text();
  const js = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
  const css = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1]!);
  return { js, css };
}

describe("graphiqlRouter over HTTP", () => {
  it("serves the page to browsers with a self-only CSP", async () => {
    const res = await fetch(`${server.origin}/graphql`, {
      headers: { Accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy");
    expect(csp).toBe(GRAPHIQL_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:/);
    const html = await res.text();
    expect(html).toContain('<div id="graphiql">');
    // Nothing absolute: every reference is same-origin.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("passes GET /graphql with Accept: application/json through to the next handler", async () => {
    const res = await fetch(`${server.origin}/graphql?query=${encodeURIComponent("{ hello }")}`, {
      headers: { Accept: "application/json" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("content-security-policy")).toBeNull();
    expect(await res.json()).toEqual({ data: { hello: "world" } });
  });

  it("passes GET /graphql with Accept: */* through as well", async () => {
    const res = await fetch(`${server.origin}/graphql?query=${encodeURIComponent("{ hello }")}`, {
      headers: { Accept: "*/*" },
    });
    expect(await res.json()).toEqual({ data: { hello: "world" } });
  });

  it("serves the whitelisted assets with JS/CSS types and long cache headers", async () => {
    const { js, css } = await pageAssets();
    expect(js).toHaveLength(4);
    expect(css).toHaveLength(1);
    for (const [urls, type] of [
      [js, /^text\/javascript/],
      [css, /^text\/css/],
    ] as const) {
      for (const url of urls) {
        expect(url).toMatch(/^\/graphiql\/assets\//);
        const res = await fetch(`${server.origin}${url}`);
        expect(res.status, url).toBe(200);
        expect(res.headers.get("content-type"), url).toMatch(type);
        expect(res.headers.get("cache-control"), url).toMatch(/max-age=31536000/);
        expect((await res.arrayBuffer()).byteLength, url).toBeGreaterThan(100);
      }
    }
  });

  it("404s unknown asset paths and does not serve files outside the whitelist", async () => {
    for (const p of [
      "/graphiql/assets/nope.js",
      "/graphiql/assets/",
      "/graphiql/assets/%2e%2e%2f%2e%2e%2fpackage.json",
      "/graphiql/assets/..%2f..%2fpackage.json",
    ]) {
      const res = await fetch(`${server.origin}${p}`);
      expect(res.status, p).toBe(404);
      expect(await res.text(), p).not.toContain('"dependencies"');
    }
  });
});

/** Replaces the query editor's text and runs it, once GraphiQL has parsed it as `operation`. */
async function runInGraphiql(page: Page, query: string, operation: "query" | "mutation" | "subscription"): Promise<void> {
  await page.evaluate(
    ([sel, text]) => {
      const { document } = globalThis as unknown as PageWindow;
      document.querySelector(sel)!.CodeMirror.setValue(text);
    },
    [`${QUERY_EDITOR} .CodeMirror`, query] as const,
  );
  // GraphiQL re-parses the editor on a 100 ms debounce and picks HTTP or WebSocket from that
  // parsed document: wait until it sees the new operation, or Run would send the old one.
  await page.waitForFunction(
    ([sel, op]) => {
      const { document } = globalThis as unknown as PageWindow;
      return document.querySelector(sel)!.CodeMirror.documentAST?.definitions[0]?.operation === op;
    },
    [`${QUERY_EDITOR} .CodeMirror`, operation] as const,
  );
  await page.click(".graphiql-execute-button");
}

/** Waits until the response pane's text matches `pattern` (a regular expression), and returns it. */
async function waitForResponse(page: Page, pattern: string): Promise<string> {
  await page.waitForFunction(
    ([sel, re]) => {
      const { document } = globalThis as unknown as PageWindow;
      return new RegExp(re).test(document.querySelector(sel)?.CodeMirror.getValue() ?? "");
    },
    [`${RESPONSE_PANE} .CodeMirror`, pattern] as const,
    { timeout: 60_000 },
  );
  return page.evaluate((sel) => {
    const { document } = globalThis as unknown as PageWindow;
    return document.querySelector(sel)!.CodeMirror.getValue();
  }, `${RESPONSE_PANE} .CodeMirror`);
}

describe("GraphiQL in headless Chromium", () => {
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
  });

  it("loads offline and runs a subscription over graphql-ws", async (ctx) => {
    if (SKIP_BROWSER) {
      ctx.skip("DCGAN_SKIP_BROWSER=1: browser test skipped");
      return;
    }
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();

    const requests: string[] = [];
    const problems: string[] = [];
    const wsFrames: string[] = [];
    context.on("request", (req) => requests.push(req.url()));
    page.on("websocket", (ws) => {
      requests.push(ws.url());
      ws.on("framereceived", (f) => wsFrames.push(typeof f.payload === "string" ? f.payload : f.payload.toString()));
    });
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
    page.on("requestfailed", (req) => problems.push(`requestfailed: ${req.url()} ${req.failure()?.errorText}`));

    const response = await page.goto(`${server.origin}/graphql`, { waitUntil: "load" });
    expect(response?.status()).toBe(200);

    // GraphiQL has rendered its editors.
    await page.waitForSelector(`${QUERY_EDITOR} .CodeMirror`);
    await page.waitForSelector(`${RESPONSE_PANE} .CodeMirror`);
    const editorValue = (pane: string) =>
      page.evaluate((sel) => {
        const { document } = globalThis as unknown as PageWindow;
        return document.querySelector(sel)!.CodeMirror.getValue();
      }, `${pane} .CodeMirror`);
    const defaultQuery = await editorValue(QUERY_EDITOR);
    expect(defaultQuery).toContain("system");
    expect(defaultQuery).toContain("runProgress");

    await runInGraphiql(page, "subscription { countdown(from: 3) }", "subscription");
    // The response pane ends on the last value the subscription emits.
    const responseText = await waitForResponse(page, '"countdown": 0');
    expect(JSON.parse(responseText)).toEqual({ data: { countdown: 0 } });

    // Live: every value arrived in its own graphql-ws "next" message, over the socket the page opened.
    const nextValues = wsFrames
      .map((f) => JSON.parse(f) as { type: string; payload?: { data?: { countdown?: number } } })
      .filter((m) => m.type === "next")
      .map((m) => m.payload?.data?.countdown);
    expect(nextValues).toEqual([3, 2, 1, 0]);
    expect(server.emitted).toEqual([3, 2, 1, 0]);

    await rm(SCREENSHOT, { force: true });
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect((await stat(SCREENSHOT)).size).toBeGreaterThan(10_000);

    // Nothing left the machine: every request (http and ws) went to our server.
    const host = `127.0.0.1:${server.port}`;
    const offHost = requests.filter((u) => {
      if (u.startsWith("data:")) return false;
      const url = new URL(u);
      return url.host !== host || !["http:", "ws:"].includes(url.protocol);
    });
    expect(offHost).toEqual([]);
    expect(requests.some((u) => u.startsWith(`ws://${host}/graphql`))).toBe(true);
    expect(requests.filter((u) => u.includes("/graphiql/assets/")).length).toBeGreaterThanOrEqual(5);
    expect(problems).toEqual([]);
  });

  it("on the real service, starts a run and shows its live runProgress", async (ctx) => {
    if (SKIP_BROWSER || !browser) {
      ctx.skip("needs the browser of the previous test");
      return;
    }
    const real = await startTestServer();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const offHost: string[] = [];
    page.on("request", (req) => {
      if (!req.url().startsWith(real.origin) && !req.url().startsWith("data:")) offHost.push(req.url());
    });
    await page.goto(`${real.origin}/graphql`, { waitUntil: "load" });
    await page.waitForSelector(`${QUERY_EDITOR} .CodeMirror`);

    await runInGraphiql(
      page,
      `mutation { startRun(input: ${tinyRunLiteral({ name: "graphiql", iterations: 30 })}) { id } }`,
      "mutation",
    );
    const started = JSON.parse(await waitForResponse(page, '"id"')) as { data: { startRun: { id: string } } };
    const runId = started.data.startRun.id;
    await runInGraphiql(page, `subscription { runProgress(runId: "${runId}", after: 0) { iteration lossD lossG dX } }`, "subscription");
    const last = JSON.parse(await waitForResponse(page, '"iteration": 30')) as { data: { runProgress: { iteration: number } } };
    expect(last.data.runProgress.iteration).toBe(30);
    await page.screenshot({ path: `${OUTPUT_DIR}graphiql-run-progress.png` });
    expect(offHost).toEqual([]);
    await page.close();
  });
});
