import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { percentile } from "./stats.js";

const CHROMIUM = process.env.DCGAN_CHROMIUM ?? "/usr/bin/chromium";

export interface DashboardOpening {
  /** Navigation to the loss chart drawn with the run's history, median of `times`. */
  medianMs: number;
  times: number[];
  points: number;
}

/**
 * How long the dashboard takes to open a run, as a user sees it in Chromium: from
 * navigating to the run page until its loss chart holds the downsampled history.
 * Null when there is no Chromium.
 */
export async function benchDashboardOpening(origin: string, runId: string, repeats = 5): Promise<DashboardOpening | null> {
  if (!existsSync(CHROMIUM)) return null;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const times: number[] = [];
    let points = 0;
    for (let i = 0; i <= repeats; i++) {
      await page.goto("about:blank");
      const start = performance.now();
      await page.goto(`${origin}/#/runs/${runId}`);
      await page.locator('#loss-chart .chart:not([data-points="0"])').waitFor();
      // The first opening fills the browser's caches; the others are what a user sees.
      if (i > 0) times.push(performance.now() - start);
      points = Number(await page.locator("#loss-chart .chart").getAttribute("data-points"));
    }
    return { medianMs: percentile(times, 50), times, points };
  } finally {
    await browser.close();
  }
}
