// Heavy reads (big metrics queries, CSV exports) take turns, so that /healthz and light
// queries keep answering however many arrive at once.
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { parseTrainConfig } from "../src/engine/config.js";
import type { IterationMetrics } from "../src/engine/metrics.js";
import { HeavyReads } from "../src/server/graphql/heavy-reads.js";
import { startTestServer } from "./server-helpers.js";

/** A request on a connection of its own, as a health checker sends it, and how long it took. */
function timed(url: string, body?: string): Promise<{ ms: number; status: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, method: body ? "POST" : "GET", headers: body ? { "content-type": "application/json" } : {} }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ ms: performance.now() - started, status: res.statusCode!, body: text }));
    });
    req.on("error", reject).end(body);
  });
}

/** A promise and the function that settles it. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("HeavyReads", () => {
  it("runs MAX_HEAVY_READS at once, queues MAX_QUEUED_READS in order and refuses more with SERVER_BUSY", async () => {
    const reads = new HeavyReads({ maxHeavyReads: 2, maxQueuedReads: 2 });
    const started: number[] = [];
    const began = [0, 1, 2, 3].map(() => deferred());
    const gates = [0, 1, 2, 3].map(() => deferred());
    const runs = gates.map((gate, i) =>
      reads.run(async () => {
        started.push(i);
        began[i]!.resolve();
        await gate.promise;
        return i;
      }),
    );
    await expect(reads.run(async () => started.push(99))).rejects.toMatchObject({
      message: expect.stringMatching(/MAX_HEAVY_READS, MAX_QUEUED_READS/),
      extensions: { code: "SERVER_BUSY" },
    });
    await Promise.all([began[0]!.promise, began[1]!.promise]);
    expect(started).toEqual([0, 1]);
    // A failing read ends its turn too; the queue moves on in order.
    gates[1]!.reject(new Error("read failed"));
    await expect(runs[1]).rejects.toThrow("read failed");
    await began[2]!.promise;
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    expect(await runs[0]).toBe(0);
    await began[3]!.promise;
    expect(started).toEqual([0, 1, 2, 3]);
    // Room again for two to wait; the next page of an export already under way waits however full the queue.
    const more = [reads.run(async () => "a"), reads.run(async () => "b")];
    const page = reads.continue(async () => "page");
    await expect(reads.run(async () => "c")).rejects.toMatchObject({ extensions: { code: "SERVER_BUSY" } });
    gates[2]!.resolve();
    gates[3]!.resolve();
    expect(await Promise.all([...runs.slice(2), ...more, page])).toEqual([2, 3, "a", "b", "page"]);
  });

  it("hands out turns that end when their holder says so, once however often it says so", async () => {
    const reads = new HeavyReads({ maxHeavyReads: 1, maxQueuedReads: 1 });
    const end = await reads.acquire();
    const next = reads.acquire();
    await expect(reads.acquire()).rejects.toMatchObject({ extensions: { code: "SERVER_BUSY" } });
    end();
    end();
    const endNext = await next;
    // Ending the first twice gave no extra turn: one runs, one may wait, the next is refused.
    const third = reads.acquire();
    await expect(reads.acquire()).rejects.toMatchObject({ extensions: { code: "SERVER_BUSY" } });
    endNext();
    (await third)();
  });
});

describe("heavy reads under load", () => {
  const ITERATIONS = 30_000;
  const HEAVY = 30;
  /** Generous: here they answer within about a second; with every heavy read at once, after 10 s and more. */
  const PROBE_BOUND_MS = 5000;

  function metric(iteration: number): IterationMetrics {
    const x = Math.sin(iteration);
    return { iteration, epoch: 0, batch: iteration - 1, lossD: x, lossG: x, dX: x, dGz1: x, dGz2: x, errDReal: x, errDFake: x, imagesPerSecond: 500, timestamp: 1_764_000_000_000 + iteration };
  }

  it(`keeps /healthz and light queries answering while ${HEAVY} metrics(maxPoints: 10000) queries (HTTP and WebSocket) and ${HEAVY} CSV exports of ${ITERATIONS} iterations arrive at once`, async () => {
    const server = await startTestServer();
    const { store } = server.service;
    const run = await store.createRun({ name: "long", config: parseTrainConfig({ dataset: "synthetic", imageSize: 16, iterations: ITERATIONS }) });
    for (let first = 1; first <= ITERATIONS; first += 5000) await store.addMetrics(run.id, Array.from({ length: 5000 }, (_, i) => metric(first + i)));
    const query = `{ run(id: "${run.id}") { metrics(maxPoints: 10000) { iteration epoch lossD lossG dX dGz1 dGz2 imagesPerSecond } } }`;

    /** 200 with everything, or 503 SERVER_BUSY with Retry-After: nothing else. */
    const heavy = async (request: Promise<Response>, complete: (body: string) => boolean): Promise<"served" | "refused"> => {
      const res = await request;
      const body = await res.text();
      if (res.status === 503) {
        expect([res.headers.get("retry-after"), JSON.parse(body)]).toEqual(["1", { errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: "SERVER_BUSY" }) })] }]);
        return "refused";
      }
      expect(res.status).toBe(200);
      expect(complete(body)).toBe(true);
      return "served";
    };
    const post = () => fetch(server.service.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
    const csv = () => fetch(`${server.origin}/files/metrics/${run.id}.csv`);
    const allPoints = (body: string) => (JSON.parse(body) as { data: { run: { metrics: unknown[] } } }).data.run.metrics.length === 10_000;
    const allRows = (body: string) => body.split("\n").length === ITERATIONS + 2;
    /** Over WebSocket a refusal ends the operation with SERVER_BUSY, as over HTTP. */
    const overWebSocket = async (): Promise<"served" | "refused"> => {
      const stream = server.ws.iterate<{ run: { metrics: unknown[] } }>({ query });
      const { value } = await stream.next();
      await stream.return?.();
      if (value?.errors) {
        expect(value.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "SERVER_BUSY" }) })]);
        return "refused";
      }
      expect(value?.data?.run.metrics).toHaveLength(10_000);
      return "served";
    };
    // A server that has answered each kind once: the first compiles the store's queries.
    expect([await heavy(post(), allPoints), await heavy(csv(), allRows), await overWebSocket()]).toEqual(["served", "served", "served"]);

    const all = Promise.all([
      ...Array.from({ length: HEAVY - 10 }, () => heavy(post(), allPoints)),
      ...Array.from({ length: 10 }, overWebSocket),
      ...Array.from({ length: HEAVY }, () => heavy(csv(), allRows)),
    ]);
    let done = false;
    void all.finally(() => (done = true));

    // One probe after the other until every heavy read has been answered.
    const probes = { healthz: [] as number[], light: [] as number[] };
    while (!done) {
      const health = await timed(`${server.origin}/healthz`);
      expect([health.status, health.body]).toEqual([200, '{"ok":true}']);
      probes.healthz.push(health.ms);
      const light = await timed(server.service.url, JSON.stringify({ query: `{ runs(first: 1) { nodes { id } } }` }));
      expect([light.status, JSON.parse(light.body)]).toEqual([200, { data: { runs: { nodes: [{ id: run.id }] } } }]);
      probes.light.push(light.ms);
    }
    const outcomes = await all;
    const refused = outcomes.filter((o) => o === "refused").length;
    console.log(
      `heavy reads: ${outcomes.length - refused} served, ${refused} refused;`,
      `/healthz max ${Math.round(Math.max(...probes.healthz))} ms, light query max ${Math.round(Math.max(...probes.light))} ms over ${probes.healthz.length} probes`,
      JSON.stringify(probes.healthz.map(Math.round)),
    );
    expect(Math.max(...probes.healthz)).toBeLessThan(PROBE_BOUND_MS);
    expect(Math.max(...probes.light)).toBeLessThan(PROBE_BOUND_MS);
    // All 60 arrive while the first read (hundreds of ms) holds the loop: past the 1 running and 32 waiting, they are refused.
    expect(refused).toBeGreaterThan(0);
  });
});
