/**
 * The bad client of `npm run stress`: it sends malformed and invalid operations as fast
 * as a few workers can, over HTTP and over WebSocket, and tallies how the server
 * answered. It never kills or restarts anything; when the server closes its socket, it
 * opens another.
 */
import WebSocket from "ws";
import type { Rng } from "../engine/rng.js";
import { Latencies, sleep } from "./subscriber.js";
import { type TransportAttack, transportAttacks } from "./transport-attacks.js";

/** An HTTP request that a correct server refuses (or, a heavy read, serves or refuses as SERVER_BUSY) without a bare 5xx. */
interface HttpOp {
  name: string;
  method?: "GET" | "POST";
  /** Appended to the GraphQL URL (for GET). */
  search?: string;
  /** Requested instead of the GraphQL URL, on the same server (for GET). */
  path?: string;
  contentType?: string;
  body?: string;
  /** How often it is picked, relative to the others (default 1). */
  weight?: number;
}

const json = (value: unknown) => JSON.stringify(value);
const query = (q: string, extra: Record<string, unknown> = {}) => json({ query: q, ...extra });
/** `{ a { a { ... } } }`: a deep selection of a field that does not exist. */
const deepUnknown = (depth: number) => `{ ${"a { ".repeat(depth)}b${" }".repeat(depth)} }`;
/** A deep, valid introspection query: `ofType` nests without end. */
const deepIntrospection = (depth: number) =>
  `{ __schema { types { fields { type { ${"ofType { ".repeat(depth)}name${" }".repeat(depth)} } } } } }`;
/** A deeply nested list value for an argument. */
const deepList = (depth: number) => `{ runs(first: ${"[".repeat(depth)}1${"]".repeat(depth)}) { nodes { id } } }`;
const aliases = (count: number, field: string) => Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(" ");
const allMetrics = (runId: string) => `run(id: "${runId}") { metrics(maxPoints: 10000) { iteration epoch lossD lossG dX dGz1 dGz2 imagesPerSecond } }`;
/** F4 spreads 11^4 = 14,641 fields: past what the cost counter counts, within the depth and token limits. */
const fragmentBomb = (runId: string) =>
  `{ ...F4 ${aliases(4, allMetrics(runId))} } ${[1, 2, 3, 4].map((i) => `fragment F${i} on Query { ${`...F${i - 1} `.repeat(11)}}`).join(" ")} fragment F0 on Query { __typename }`;

function httpOps(runId: string): HttpOp[] {
  return [
    { name: "broken JSON", body: '{"query": "{ runs { nodes { id } }' },
    { name: "JSON string body", body: '"{ runs { nodes { id } } }"' },
    { name: "empty body", body: "" },
    { name: "no query", body: json({ variables: {} }) },
    { name: "query not a string", body: json({ query: 42 }) },
    { name: "batched array", body: json([{ query: "{ __typename }" }, { query: "{ __typename }" }]) },
    { name: "syntax error", body: query("{ runs( { nodes { id } }") },
    { name: "unknown field", body: query("{ nope { id } }") },
    { name: "unknown argument", body: query(`{ run(id: "x", bogus: 1) { id } }`) },
    { name: "wrong argument type", body: query(`{ runs(first: "ten") { nodes { id } } }`) },
    { name: "wrong enum value", body: query(`{ runs(status: DANCING) { nodes { id } } }`) },
    { name: "wrong variable type", body: query("query Q($n: Int!) { runs(first: $n) { nodes { id } } }", { variables: { n: "ten" } }) },
    { name: "missing variable", body: query("query Q($n: Int!) { runs(first: $n) { nodes { id } } }") },
    { name: "unknown operation name", body: query("query A { __typename }", { operationName: "B" }) },
    { name: "two anonymous operations", body: query("{ __typename } { __typename }") },
    { name: "subscription over HTTP", body: query(`subscription { runProgress(runId: "${runId}") { iteration } }`) },
    { name: "deep unknown field (300)", body: query(deepUnknown(300)) },
    { name: "deep unknown field (3000)", body: query(deepUnknown(3000)), weight: 0.2 },
    { name: "deep introspection (40)", body: query(deepIntrospection(40)) },
    { name: "deep list argument (2000)", body: query(deepList(2000)), weight: 0.2 },
    { name: "many aliases of an unknown run", body: query(`{ ${Array.from({ length: 200 }, (_, i) => `r${i}: run(id: "nope${i}") { id }`).join(" ")} }`) },
    { name: "run with unknown id", body: query(`{ run(id: "no-such-run") { id status } }`) },
    { name: "stopRun unknown id", body: query(`mutation { stopRun(id: "no-such-run") { id } }`) },
    { name: "deleteRun unknown id", body: query(`mutation { deleteRun(id: "no-such-run") }`) },
    { name: "resumeRun unknown id", body: query(`mutation { resumeRun(id: "no-such-run") { id } }`) },
    { name: "generate unknown checkpoint", body: query(`mutation { generate(checkpointId: "no-such-checkpoint") { id } }`) },
    // Refused while it runs and once it completed (deleteRun would not be, once it completed).
    { name: "resumeRun of the stressed run", body: query(`mutation { resumeRun(id: "${runId}") { id } }`) },
    { name: "startRun invalid image size", body: query("mutation { startRun(input: { imageSize: 17 }) { id } }") },
    { name: "startRun negative batch", body: query("mutation { startRun(input: { batchSize: -4, iterations: 0 }) { id } }") },
    { name: "startRun dataset outside roots", body: query(`mutation { startRun(input: { dataset: { kind: IMAGE_FOLDER, path: "/etc" } }) { id } }`) },
    { name: "mutation over GET", method: "GET", search: `?query=${encodeURIComponent(`mutation { stopRun(id: "${runId}") { id } }`)}` },
    { name: "GET without query", method: "GET", search: "?variables=%7B" },
    { name: "text/plain body (CSRF)", contentType: "text/plain", body: query("{ __typename }") },
    { name: "body over 1 MB", body: query(`{ __typename } #${"x".repeat(1_100_000)}`), weight: 0.1 },
    // Load: padding past the cost counter, many cheap aliases, token floods, heavy reads at once.
    { name: "10,001 __typename aliases padding 3 metrics(10000)", body: query(`{ ${aliases(10_001, "__typename")} ${aliases(3, allMetrics(runId))} }`), weight: 0.2 },
    { name: "fragments past the cost counter", body: query(fragmentBomb(runId)) },
    { name: "25,000 aliases of system", body: query(`{ ${aliases(25_000, "system { version }")} }`), weight: 0.1 },
    { name: "31 aliases of system", body: query(`{ ${aliases(31, "system { version }")} }`) },
    { name: "token flood (50,000 __typename)", body: query(`{ ${"__typename ".repeat(50_000)}}`), weight: 0.1 },
    { name: "heavy read: metrics(maxPoints: 10000)", body: query(`{ ${allMetrics(runId)} }`), weight: 2 },
    { name: "heavy read: metrics CSV", method: "GET", path: `/files/metrics/${runId}.csv`, weight: 2 },
  ];
}

/** A WebSocket scenario: what to send, and whether the server is expected to close. */
interface WsOp {
  name: string;
  /** The subprotocol asked for; "" asks for none. */
  protocol?: string;
  /** Send connection_init and wait for connection_ack before `frames`. */
  init: boolean;
  /** What to send (then), given the random stream. */
  frames: (rng: Rng) => (string | Buffer)[];
  /** Messages are ignored: only the server closing the socket answers this one. */
  awaitClose?: boolean;
}

const INIT = json({ type: "connection_init" });
const subscribe = (id: string, q: string, variables?: unknown) => json({ id, type: "subscribe", payload: { query: q, variables } });

function wsOps(runId: string): WsOp[] {
  const afterInit = (name: string, ...frames: string[]): WsOp => ({ name, init: true, frames: () => frames });
  return [
    { name: "garbage frame", init: false, frames: () => ["not json {{{"] },
    { name: "subscribe before init", init: false, frames: () => [subscribe("1", "subscription { runUpdated { id } }")] },
    { name: "no subprotocol", protocol: "", init: false, frames: () => [INIT] },
    { name: "wrong subprotocol", protocol: "graphql-ws", init: false, frames: () => [INIT] },
    afterInit("garbage after init", "}{"),
    { name: "binary garbage", init: true, frames: (rng) => [Buffer.from(Array.from({ length: 64 }, () => Math.floor(rng.uniform() * 256)))] },
    afterInit("subscribe id not a string", json({ id: 5, type: "subscribe", payload: { query: "{ __typename }" } })),
    afterInit("subscribe without payload", json({ id: "1", type: "subscribe" })),
    afterInit("subscribe query not a string", json({ id: "1", type: "subscribe", payload: { query: 42 } })),
    afterInit("unknown message type", json({ type: "bogus" })),
    afterInit("client sends next", json({ id: "1", type: "next", payload: {} })),
    afterInit("init twice", INIT),
    {
      name: "duplicate subscription id",
      init: true,
      awaitClose: true,
      frames: () => [subscribe("dup", `subscription { runUpdated(runId: "${runId}") { id } }`), subscribe("dup", `subscription { runUpdated(runId: "${runId}") { id } }`)],
    },
    afterInit("subscribe syntax error", subscribe("1", "subscription { runProgress( ")),
    afterInit("subscribe unknown field", subscribe("1", "subscription { nope }")),
    afterInit("subscribe deep unknown field", subscribe("1", `subscription ${deepUnknown(300)}`)),
    afterInit("subscribe wrong argument type", subscribe("1", `subscription { runProgress(runId: "${runId}", after: "zero") { iteration } }`)),
    afterInit("subscribe wrong variable type", subscribe("1", `subscription S($a: Int) { runProgress(runId: "${runId}", after: $a) { iteration } }`, { a: "zero" })),
    afterInit("subscribe unknown run", subscribe("1", `subscription { runProgress(runId: "no-such-run", after: 0) { iteration } }`)),
    afterInit("mutation over WebSocket, unknown id", subscribe("1", `mutation { stopRun(id: "no-such-run") { id } }`)),
  ];
}

/** Per request, and per step of a WebSocket scenario (upgrade, connection_ack, reaction): no answer within this long counts as the server not answering. */
const ANSWER_TIMEOUT_MS = 15_000;

export interface FlooderOptions {
  httpUrl: string;
  wsUrl: string;
  runId: string;
  rng: Rng;
  /** HTTP requests in flight at once. */
  httpConcurrency: number;
  /** WebSocket scenarios in flight at once. */
  wsConcurrency: number;
}

export class FloodStats {
  httpSent = 0;
  wsSent = 0;
  /** "HTTP 400 GRAPHQL_VALIDATION_FAILED", "WS close 4400", ... */
  readonly outcomes = new Map<string, number>();
  /** 5xx answers without a GraphQL `errors` body. */
  readonly bare5xx: string[] = [];
  bare5xxCount = 0;
  /** Requests or scenarios the server did not answer (timeouts, refused or reset connections). */
  readonly unanswered: string[] = [];
  unansweredCount = 0;
  /** WebSocket scenarios the server closed with 4500 Internal Server Error. */
  wsInternalErrors = 0;
  readonly wsInternalErrorExamples = new Set<string>();
  /** Attacks below GraphQL (foreign Host, oversized or malformed frames) answered otherwise than refused. */
  readonly transportNotRefused: string[] = [];
  transportNotRefusedCount = 0;
  /** HTTP response times, and the WebSocket scenarios' whole durations (up to three round trips). */
  readonly httpLatency = new Latencies();
  readonly wsLatency = new Latencies();
  /** Per operation: how often sent, its outcomes, its slowest answer. */
  readonly byOp = new Map<string, { sent: number; outcomes: Map<string, number>; maxLatencyMs: number }>();

  count(op: string, outcome: string, latencyMs?: number): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    const entry = this.byOp.get(op) ?? { sent: 0, outcomes: new Map<string, number>(), maxLatencyMs: 0 };
    this.byOp.set(op, entry);
    entry.sent++;
    entry.outcomes.set(outcome, (entry.outcomes.get(outcome) ?? 0) + 1);
    if (latencyMs !== undefined) {
      entry.maxLatencyMs = Math.max(entry.maxLatencyMs, latencyMs);
      (op.startsWith("WS") ? this.wsLatency : this.httpLatency).add(latencyMs);
    }
  }
}

export class Flooder {
  readonly stats = new FloodStats();
  private readonly http: HttpOp[];
  private readonly httpWeight: number;
  private readonly ws: WsOp[];
  private readonly transport = transportAttacks();

  constructor(private readonly options: FlooderOptions) {
    this.http = httpOps(options.runId);
    this.httpWeight = this.http.reduce((sum, op) => sum + (op.weight ?? 1), 0);
    this.ws = wsOps(options.runId);
  }

  /** Floods until `signal` aborts; resolves once every operation in flight has ended. */
  async run(signal: AbortSignal): Promise<void> {
    const workers: Promise<void>[] = [];
    for (let i = 0; i < this.options.httpConcurrency; i++) workers.push(this.loop(signal, () => this.httpOnce()));
    for (let i = 0; i < this.options.wsConcurrency; i++) workers.push(this.loop(signal, () => this.wsOnce()));
    await Promise.all(workers);
  }

  private async loop(signal: AbortSignal, once: () => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      await once();
      // Yield to the subscribers in this process between operations.
      await sleep(0);
    }
  }

  private pickHttp(): HttpOp {
    let x = this.options.rng.uniform() * this.httpWeight;
    for (const op of this.http) {
      x -= op.weight ?? 1;
      if (x < 0) return op;
    }
    return this.http[this.http.length - 1]!;
  }

  private async httpOnce(): Promise<void> {
    const op = this.pickHttp();
    const { stats } = this;
    stats.httpSent++;
    const started = performance.now();
    try {
      const res = await fetch(op.path ? new URL(op.path, this.options.httpUrl) : this.options.httpUrl + (op.search ?? ""), {
        method: op.method ?? "POST",
        headers: op.method === "GET" ? {} : { "content-type": op.contentType ?? "application/json" },
        body: op.method === "GET" ? undefined : op.body,
        signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
      });
      const text = await res.text();
      const latency = performance.now() - started;
      let code = "-";
      let hasErrors = false;
      try {
        const body = JSON.parse(text) as { errors?: { extensions?: { code?: unknown } }[] };
        if (Array.isArray(body.errors) && body.errors.length > 0) {
          hasErrors = true;
          code = String(body.errors[0]!.extensions?.code ?? "no code");
        }
      } catch {
        code = "non-JSON body";
      }
      stats.count(`HTTP ${op.name}`, `HTTP ${res.status} ${code}`, latency);
      if (res.status >= 500 && !hasErrors) {
        stats.bare5xxCount++;
        if (stats.bare5xx.length < 10) stats.bare5xx.push(`${op.name}: HTTP ${res.status} ${text.slice(0, 120)}`);
      }
    } catch (err) {
      stats.count(`HTTP ${op.name}`, "HTTP no answer");
      this.unanswered(`HTTP ${op.name}: ${(err as Error).message}`);
    }
  }

  private wsOnce(): Promise<void> {
    const { rng } = this.options;
    const pick = Math.floor(rng.uniform() * (this.ws.length + this.transport.length));
    if (pick >= this.ws.length) return this.transportOnce(this.transport[pick - this.ws.length]!);
    const op = this.ws[pick]!;
    const { stats } = this;
    stats.wsSent++;
    const started = performance.now();
    return new Promise<void>((resolve) => {
      const protocol = op.protocol ?? "graphql-transport-ws";
      const socket = protocol ? new WebSocket(this.options.wsUrl, protocol) : new WebSocket(this.options.wsUrl);
      let done = false;
      const finish = (outcome: string, answered = true) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        stats.count(`WS ${op.name}`, `WS ${outcome}`, answered ? performance.now() - started : undefined);
        socket.removeAllListeners();
        socket.on("error", () => undefined);
        socket.terminate();
        resolve();
      };
      let step = "upgrade";
      let timer: NodeJS.Timeout | undefined;
      /** Each step has its own time limit. */
      const waitFor = (next: string) => {
        step = next;
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.unanswered(`WS ${op.name}: ${step} not answered in ${ANSWER_TIMEOUT_MS / 1000} s`);
          finish(`${step} not answered`, false);
        }, ANSWER_TIMEOUT_MS);
      };
      waitFor("upgrade");
      socket.on("error", (err) => {
        // The server answered the upgrade without the subprotocol asked for; ws gives up.
        if (/subprotocol/.test(err.message)) return finish(`handshake refused: ${err.message}`);
        this.unanswered(`WS ${op.name}: ${err.message}`);
        finish("connection error", false);
      });
      socket.on("unexpected-response", (_req, res) => finish(`upgrade refused HTTP ${res.statusCode}`));
      socket.on("close", (code, reason) => {
        if (code === 4500) {
          stats.wsInternalErrors++;
          if (stats.wsInternalErrorExamples.size < 10) stats.wsInternalErrorExamples.add(`${op.name}: ${reason.toString().slice(0, 80)}`);
        }
        finish(`close ${code}`);
      });
      socket.on("message", (data) => {
        let message: { type?: string; payload?: unknown };
        try {
          message = JSON.parse(String(data)) as typeof message;
        } catch {
          return finish("non-JSON message");
        }
        if (message.type === "connection_ack" && op.init) {
          waitFor("reaction");
          return sendAll(op.frames(rng));
        }
        if (op.awaitClose) return;
        if (message.type === "error") {
          const errors = Array.isArray(message.payload) ? (message.payload as { extensions?: { code?: unknown } }[]) : [];
          return finish(`error message ${String(errors[0]?.extensions?.code ?? "no code")}`);
        }
        if (message.type === "next") {
          const errors = (message.payload as { errors?: { extensions?: { code?: unknown } }[] } | undefined)?.errors;
          return finish(errors?.length ? `next with errors ${String(errors[0]!.extensions?.code ?? "no code")}` : "next with data");
        }
        if (message.type === "complete") return finish("complete");
      });
      const sendAll = (frames: (string | Buffer)[]) => {
        for (const frame of frames) if (socket.readyState === WebSocket.OPEN) socket.send(frame);
      };
      socket.on("open", () => {
        if (op.init) {
          waitFor("connection_ack");
          sendAll([INIT]);
        } else {
          waitFor("reaction");
          sendAll(op.frames(rng));
        }
      });
    });
  }

  private async transportOnce(attack: TransportAttack): Promise<void> {
    const { stats } = this;
    const op = `${attack.kind} ${attack.name}`;
    if (attack.kind === "HTTP") stats.httpSent++;
    else stats.wsSent++;
    const started = performance.now();
    try {
      const outcome = await attack.run(attack.kind === "HTTP" ? this.options.httpUrl : this.options.wsUrl, AbortSignal.timeout(ANSWER_TIMEOUT_MS));
      stats.count(op, `${attack.kind} ${outcome}`, performance.now() - started);
      if (outcome === attack.expected) return;
      stats.transportNotRefusedCount++;
      if (stats.transportNotRefused.length < 10) stats.transportNotRefused.push(`${attack.name}: ${outcome}, not ${attack.expected}`);
    } catch (err) {
      stats.count(op, `${attack.kind} no answer`);
      this.unanswered(`${op}: ${(err as Error).message}`);
    }
  }

  private unanswered(what: string): void {
    this.stats.unansweredCount++;
    if (this.stats.unanswered.length < 10) this.stats.unanswered.push(what);
  }
}
