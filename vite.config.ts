import { defineConfig } from "vite";

/** The dashboard (web/) builds to dist/web, which the server serves at `/`. */
export default defineConfig({
  root: "web",
  base: "/",
  build: { outDir: "../dist/web", emptyOutDir: true, sourcemap: true },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  // `npm run dev:web`: the dashboard with hot reload, against a server on :4000.
  server: { proxy: { "/graphql": { target: "http://127.0.0.1:4000", ws: true }, "/files": "http://127.0.0.1:4000" } },
});
