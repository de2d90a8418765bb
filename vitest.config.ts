import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build for Apollo, graphql-ws and type-graphql;
    // files vitest transforms would get its ESM build, a second copy whose schema
    // objects the libraries reject ("another module or realm"). One copy for all.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    include: ["test/**/*.test.ts", "web/test/**/*.test.ts"],
    // Training tests are CPU-bound; two cores, so run files two at a time.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
