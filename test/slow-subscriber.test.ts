// A subscriber that stops reading, for real: its TCP socket is paused, so the kernel
// buffers fill and the server can no longer send. Its streams must end with
// SUBSCRIBER_TOO_SLOW (and `after`) while training runs on, and resubscribing with
// `after` must deliver the rest, each iteration exactly once.
import { connect, type NetConnectOpts, type Socket } from "node:net";
import { on, once } from "node:events";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { tinyRunLiteral } from "./helpers.js";
import { progress, waitForStatus } from "./process-helpers.js";
import { startTestServer } from "./server-helpers.js";

/**
 * How much training the test needs: the streams end once the kernel's socket buffers
 * (a few MB on loopback) are full and then BUFFER more iterations have waited. Wide
 * messages (the same field under many aliases, some 36 kB each, 1.8 MB an iteration
 * over all the streams) fill those buffers within a few iterations, so the streams
 * end around iteration 10. The run trains four times that (the original 120 took
 * minutes on a loaded machine); buffers so large that the streams outlive the run
 * make them complete instead, which fails the test rather than passing it.
 */
const ITERATIONS = 40;
const BUFFER = 5;
const STREAMS = 50;
const WIDTH = 1000;
const WIDE_FIELDS = Array.from({ length: WIDTH }, (_, i) => `t${i}: timestamp`).join(" ");
/** Far past what a client may ask by default (MAX_QUERY_ALIASES, MAX_QUERY_TOKENS): wide messages are the point here. */
const WIDE_LIMITS = { maxQueryAliases: WIDTH, maxQueryTokens: 4 * WIDTH };

interface Message {
  id?: string;
  type: string;
  payload?: { data?: { runProgress: { iteration: number } } } & { extensions?: { code: string; after?: number } }[];
}

describe("a subscriber that reads too slowly", () => {
  it("gets SUBSCRIBER_TOO_SLOW with `after` while training goes on; resubscribing with `after` misses nothing and repeats nothing", async () => {
    const server = await startTestServer({ limits: { subscriberBuffer: BUFFER, ...WIDE_LIMITS } });
    const started = await server.gql<{ startRun: { id: string } }>(
      `mutation { startRun(input: ${tinyRunLiteral({ iterations: ITERATIONS, sampleEvery: 1000, checkpointEvery: 1000 })}) { id } }`,
    );
    const runId = started.data!.startRun.id;

    let tcp: Socket | undefined;
    const slow = new WebSocket(server.service.url.replace(/^http/, "ws"), "graphql-transport-ws", {
      createConnection: ((options: NetConnectOpts) => (tcp = connect(options))) as typeof connect,
    });
    const incoming = on(slow, "message");
    const received: Message[] = [];
    /** Reads messages until `condition` holds of those received. */
    const readUntil = async (condition: () => boolean) => {
      while (!condition()) {
        const next = await incoming.next();
        received.push(JSON.parse(String((next.value as [Buffer])[0])) as Message);
      }
    };
    await once(slow, "open");
    slow.send(JSON.stringify({ type: "connection_init" }));
    await readUntil(() => received.some((m) => m.type === "connection_ack"));
    for (let i = 0; i < STREAMS; i++) {
      const query = `subscription { runProgress(runId: "${runId}", after: 0) { iteration ${WIDE_FIELDS} } }`;
      slow.send(JSON.stringify({ id: `s${i}`, type: "subscribe", payload: { query } }));
    }
    // Reading stops once the first iteration arrived: every stream is live. A stream
    // refused instead fails the test here rather than leaving it to wait.
    await readUntil(() => received.some((m) => m.type === "next" || m.type === "error"));
    expect(received.filter((m) => m.type === "error")).toEqual([]);
    tcp!.pause();

    // Training is not held back by the subscriber that stopped reading.
    expect((await waitForStatus(server.service.url, runId, ["COMPLETED", "FAILED"])).status).toBe("COMPLETED");

    tcp!.resume();
    const ended = (id: string) => received.some((m) => m.id === id && (m.type === "error" || m.type === "complete"));
    await readUntil(() => Array.from({ length: STREAMS }, (_, i) => `s${i}`).every(ended));
    slow.close();

    for (let i = 0; i < STREAMS; i++) {
      const messages = received.filter((m) => m.id === `s${i}`);
      const iterations = messages.filter((m) => m.type === "next").map((m) => m.payload!.data!.runProgress.iteration);
      const end = messages.at(-1)!;
      expect(end.type).toBe("error");
      const after = iterations.at(-1) ?? 0;
      expect(end.payload).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(new RegExp(`more than ${BUFFER} events waited.*after: ${after}`)),
          extensions: { code: "SUBSCRIBER_TOO_SLOW", after },
        }),
      ]);
      expect(iterations).toEqual(Array.from({ length: after }, (_, k) => k + 1));
      expect(after).toBeLessThan(ITERATIONS);
      if (i < 3) {
        const rest = await progress(server.service.url, runId, after, ITERATIONS - after);
        expect([...iterations, ...rest]).toEqual(Array.from({ length: ITERATIONS }, (_, k) => k + 1));
      }
    }
  });
});
