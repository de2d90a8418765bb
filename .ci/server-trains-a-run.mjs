/* global process, console, fetch, setTimeout, clearTimeout */
// Starts the built server on a free port with its own data folder, starts a small run
// over GraphQL and waits for it to complete: the service working end to end.
// Usage: node .ci/server-trains-a-run.mjs <data folder>
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

const RUN = "{ imageSize: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, iterations: 5, backend: WASM }";
const TIMEOUT_MS = 120_000;

const server = spawn(process.execPath, ["dist/server/main.js", "--port", "0", "--data-dir", process.argv[2]], { stdio: ["ignore", "pipe", "inherit"] });
const timer = setTimeout(() => fail(`no completed run within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);

function fail(message) {
  console.error(`server-trains-a-run: ${message}`);
  server.kill("SIGKILL");
  process.exit(1);
}

async function gql(url, query) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  const body = await res.json();
  if (body.errors) fail(JSON.stringify(body.errors));
  return body.data;
}

let url;
for await (const line of createInterface({ input: server.stdout })) {
  url = /GraphQL and GraphiQL at (\S+)/.exec(line)?.[1];
  if (url) break;
}
if (!url) fail("the server exited before printing its URL");
const { startRun } = await gql(url, `mutation { startRun(input: ${RUN}) { id } }`);
// The run's status, asked again until it ends: a smoke check, not a test of the stream.
for (;;) {
  const { run } = await gql(url, `{ run(id: "${startRun.id}") { status iteration backendDetail error } }`);
  if (run.status === "COMPLETED") {
    console.log(`run ${startRun.id} completed at iteration ${run.iteration} on ${run.backendDetail}`);
    break;
  }
  if (["FAILED", "STOPPED", "INTERRUPTED"].includes(run.status)) fail(`run ${run.status}: ${run.error}`);
  await new Promise((resolve) => setTimeout(resolve, 250));
}
clearTimeout(timer);
server.kill("SIGTERM");
const [code] = await once(server, "exit");
process.exit(code === 0 ? 0 : 1);
