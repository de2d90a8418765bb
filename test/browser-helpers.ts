import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";

/** CI installs it with `apt-get install -y chromium`. */
export const CHROMIUM = process.env.DCGAN_CHROMIUM ?? "/usr/bin/chromium";
export const SKIP_BROWSER = process.env.DCGAN_SKIP_BROWSER === "1";
/** Screenshots land here, for people to look at. */
export const OUTPUT_DIR = fileURLToPath(new URL("../test-output/", import.meta.url));

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Debian's Chromium, headless; no browser download. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium), ` +
        "set DCGAN_CHROMIUM to its path, or set DCGAN_SKIP_BROWSER=1 to skip the browser tests.",
    );
  }
  await mkdir(OUTPUT_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
