/**
 * GraphiQL served by this server, fully offline: no CDN, no web fonts, nothing that
 * leaves the machine.
 *
 * - Static assets come from the project's own node_modules (graphiql@3 UMD bundle, and
 *   the React 18 UMD production builds it needs as globals). Only an explicit whitelist of
 *   files is served; request paths are looked up in that table and never touch the
 *   filesystem. URLs carry the package version, so they are cached for a year.
 * - `GET <endpoint>` returns the HTML page only to clients that prefer text/html (browsers);
 *   everything else (JSON clients, `Accept: *\/*`, POST) falls through to `next()` so the
 *   GraphQL server mounted after this router handles it.
 * - The page sends a Content-Security-Policy allowing only 'self' (plus inline styles and
 *   data: fonts/images that GraphiQL uses; 'self' covers its own ws:/wss: address for
 *   subscriptions). The bootstrap
 *   script is a served asset too, so no inline script is needed.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import express from "express";
import type { NextFunction, Request, Response, Router } from "express";
import { selfOnlyCsp } from "./csp.js";

export interface GraphiqlRouterOptions {
  /** Path of the GraphQL endpoint, e.g. "/graphql": the page is served there. */
  endpoint: string;
}

/** Mount point of the static assets, relative to where the router is mounted. */
export const GRAPHIQL_ASSET_PREFIX = "/graphiql/assets";

/** Content-Security-Policy sent with the GraphiQL page. */
export const GRAPHIQL_CSP = selfOnlyCsp({
  // GraphiQL and CodeMirror set inline style attributes; the fonts are data: URIs in the CSS.
  "style-src": "'self' 'unsafe-inline'",
  "font-src": "'self' data:",
});

const ONE_YEAR_S = 365 * 24 * 60 * 60;

interface Asset {
  /** Absolute file on disk, or in-memory content. */
  file?: string;
  body?: Buffer;
  contentType: string;
}

const require = createRequire(import.meta.url);

function packageDir(name: string): { dir: string; version: string } {
  const pkgJson = require.resolve(`${name}/package.json`);
  const { version } = JSON.parse(readFileSync(pkgJson, "utf8")) as { version: string };
  return { dir: path.dirname(pkgJson), version };
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const MAP = "application/json; charset=utf-8";

const DEFAULT_QUERY = `# Welcome to the DCGAN training service.
#
# Put your token in the Headers tab below, e.g.
#   { "Authorization": "Bearer <token>" }
# (sent as HTTP headers, and as connection params for subscriptions).
#
# Live training progress, over WebSocket:
#
#   subscription {
#     runProgress(runId: "...") { iteration lossD lossG }
#   }

query {
  system {
    version
  }
}
`;

/** The page's bootstrap script: URLs are derived from `location` at runtime. */
function bootstrapScript(): string {
  return `(function () {
  "use strict";
  var url = location.protocol + "//" + location.host + location.pathname;
  var subscriptionUrl = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: subscriptionUrl });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers"
    })
  );
})();
`;
}

function buildAssets(): { table: Map<string, Asset>; urls: { js: string[]; css: string[] } } {
  const table = new Map<string, Asset>();
  const graphiql = packageDir("graphiql");
  const react = packageDir("react");
  const reactDom = packageDir("react-dom");

  const g = `graphiql@${graphiql.version}`;
  const r = `react@${react.version}`;
  const rd = `react-dom@${reactDom.version}`;
  table.set(`${g}/graphiql.min.js`, { file: path.join(graphiql.dir, "graphiql.min.js"), contentType: JS });
  table.set(`${g}/graphiql.min.js.map`, { file: path.join(graphiql.dir, "graphiql.min.js.map"), contentType: MAP });
  table.set(`${g}/graphiql.min.css`, { file: path.join(graphiql.dir, "graphiql.min.css"), contentType: CSS });
  table.set(`${g}/graphiql.min.css.map`, { file: path.join(graphiql.dir, "graphiql.min.css.map"), contentType: MAP });
  table.set(`${r}/react.production.min.js`, { file: path.join(react.dir, "umd", "react.production.min.js"), contentType: JS });
  table.set(`${rd}/react-dom.production.min.js`, {
    file: path.join(reactDom.dir, "umd", "react-dom.production.min.js"),
    contentType: JS,
  });

  const init = Buffer.from(bootstrapScript(), "utf8");
  const initName = `init.${createHash("sha256").update(init).digest("hex").slice(0, 12)}.js`;
  table.set(initName, { body: init, contentType: JS });

  // Fail at startup, not on first page view, if a file is missing.
  for (const [name, asset] of table) {
    if (asset.file !== undefined) {
      if (!statSync(asset.file, { throwIfNoEntry: false })?.isFile()) {
        throw new Error(`graphiqlRouter: asset ${name} not found at ${asset.file}`);
      }
    }
  }

  return {
    table,
    urls: {
      css: [`${g}/graphiql.min.css`],
      // Order matters: React, ReactDOM, GraphiQL (needs both globals), then the bootstrap.
      js: [`${r}/react.production.min.js`, `${rd}/react-dom.production.min.js`, `${g}/graphiql.min.js`, initName],
    },
  };
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function renderPage(assetBase: string, urls: { js: string[]; css: string[] }): string {
  const css = urls.css.map((u) => `    <link rel="stylesheet" href="${escapeAttr(`${assetBase}/${u}`)}" />`).join("\n");
  const js = urls.js.map((u) => `    <script src="${escapeAttr(`${assetBase}/${u}`)}"></script>`).join("\n");
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>GraphiQL · DCGAN service</title>
    <link rel="icon" href="data:," />
    <style>
      html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }
    </style>
${css}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
${js}
  </body>
</html>
`;
}

/** True when the client prefers an HTML page over a GraphQL/JSON response (i.e. a browser). */
function prefersHtml(req: Request): boolean {
  const accept = req.headers.accept;
  if (accept === undefined || accept === "") return false;
  // With `*/*` every type ties and the first (JSON) wins, so only an explicit text/html
  // preference (browsers: `text/html,...,*/*;q=0.8`) yields the page.
  return req.accepts(["application/graphql-response+json", "application/json", "text/html"]) === "text/html";
}

export function graphiqlRouter(options: GraphiqlRouterOptions): Router {
  const endpoint = options.endpoint.startsWith("/") ? options.endpoint : `/${options.endpoint}`;
  const { table, urls } = buildAssets();
  const router = express.Router();

  router.use(GRAPHIQL_ASSET_PREFIX, (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      next();
      return;
    }
    // req.path is relative to the mount point: "/graphiql@3.8.2/graphiql.min.js".
    const asset = table.get(req.path.replace(/^\//, ""));
    if (asset === undefined) {
      res.status(404).type("text/plain").send("Not found");
      return;
    }
    res.setHeader("Cache-Control", `public, max-age=${ONE_YEAR_S}, immutable`);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    if (asset.body !== undefined) {
      res.type(asset.contentType).send(asset.body);
      return;
    }
    // `send` keeps a Content-Type that is already set instead of guessing one.
    res.setHeader("Content-Type", asset.contentType);
    res.sendFile(
      asset.file!,
      // cacheControl: false keeps our Cache-Control; the path comes from the whitelist,
      // so a dot directory somewhere above node_modules must not make it 404.
      { cacheControl: false, dotfiles: "allow" },
      (err?: Error) => {
        if (err !== undefined && !res.headersSent) next(err);
      },
    );
  });

  router.get(endpoint, (req: Request, res: Response, next: NextFunction) => {
    if (!prefersHtml(req)) {
      next();
      return;
    }
    const assetBase = `${req.baseUrl}${GRAPHIQL_ASSET_PREFIX}`;
    res.setHeader("Content-Security-Policy", GRAPHIQL_CSP);
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Vary", "Accept");
    res.type("text/html; charset=utf-8").send(renderPage(assetBase, urls));
  });

  return router;
}
