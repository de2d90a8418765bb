import express, { type Router } from "express";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { selfOnlyCsp } from "./csp.js";

/**
 * The dashboard's build (web/, built by `npm run build` into dist/web): dist/server/http
 * finds it two folders up; src/server/http (tests, tsx) in the dist folder beside src.
 */
const BUILD_CANDIDATES = ["../../web", "../../../dist/web"].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));

/**
 * The dashboard at `/`: its page, and its assets by name from a table read at start,
 * so no request path reaches the file system. Asset names carry a content hash and
 * are cached for a year; the page is revalidated.
 */
export function dashboardRouter(buildDir = BUILD_CANDIDATES.find((dir) => existsSync(join(dir, "index.html")))): Router {
  const router = express.Router();
  if (!buildDir) {
    router.get("/", (_req, res) => {
      res.status(503).type("text/plain").send("The dashboard is not built: run `npm run build` (npm ci does it), then restart the server.\n");
    });
    return router;
  }
  const assetsDir = join(buildDir, "assets");
  const assets = new Set(readdirSync(assetsDir));
  const csp = selfOnlyCsp();
  router.get("/", (_req, res) => {
    res.set({ "Content-Security-Policy": csp, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff" });
    res.sendFile(join(buildDir, "index.html"));
  });
  router.get("/assets/:name", (req, res, next) => {
    if (!assets.has(req.params.name)) return next();
    res.set("X-Content-Type-Options", "nosniff");
    res.sendFile(join(assetsDir, req.params.name), { maxAge: "1y", immutable: true });
  });
  return router;
}
