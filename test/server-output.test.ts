import { describe, expect, it } from "vitest";
import { REQUIRE_WEBGPU, tempDir, tinyRunLiteral } from "./helpers.js";
import { gqlData, spawnServer, waitForStatus } from "./process-helpers.js";
import { freshDatabase } from "./store-helpers.js";

const RUN = `mutation { startRun(input: ${tinyRunLiteral({ iterations: 2, backend: "AUTO" })}) { id } }`;

describe("the server's output", () => {
  it("is its banner and JSON log lines only: what backends print, in the server or a run, becomes structured log entries", async () => {
    const server = await spawnServer({ DATA_DIR: await tempDir(), DATABASE_URL: await freshDatabase(), LOG_LEVEL: "info" });
    let webgpu: { available: boolean } | undefined;
    try {
      const { system } = await gqlData<{ system: { backends: { name: string; available: boolean }[] } }>(server.url, `{ system { backends { name available } } }`);
      webgpu = system.backends.find((b) => b.name.toLowerCase() === "webgpu");
      const { startRun } = await gqlData<{ startRun: { id: string } }>(server.url, RUN);
      expect((await waitForStatus(server.url, startRun.id, ["COMPLETED", "FAILED"])).status).toBe("COMPLETED");
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const { stdout, stderr } = server.streams();
    expect(stderr).toBe("");
    const isBanner = (line: string) => line.startsWith("DCGAN service: dashboard at ");
    const all = stdout.trimEnd().split("\n");
    expect(all.filter(isBanner)).toHaveLength(1);
    const entries = all.filter((line) => !isBanner(line)).map((line) => {
      expect(() => JSON.parse(line), line).not.toThrow();
      return JSON.parse(line) as { msg: string; output?: string; runId?: string; command?: string };
    });
    // Dawn warns about its limits whenever it opens a Vulkan adapter: once for the backend report, once in the run.
    if (webgpu?.available || REQUIRE_WEBGPU) {
      const chatter = entries.filter((e) => e.output?.includes("artificially reduced"));
      expect(chatter.some((e) => e.command === "dcgan backends")).toBe(true);
      expect(chatter.some((e) => e.runId !== undefined)).toBe(true);
    }
  });
});
