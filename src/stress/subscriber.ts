/**
 * One `runProgress` subscriber of `npm run stress`: its own graphql-ws client, which it
 * drops at random moments (abruptly or politely) and replaces after a short random
 * delay, resubscribing with `after` = the last iteration it received. It records
 * every iteration, so that the end can check that each arrived exactly once, in order.
 */
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { Rng } from "../engine/rng.js";
import { percentile } from "../bench/stats.js";

const PROGRESS = `subscription Progress($runId: ID!, $after: Int) {
  runProgress(runId: $runId, after: $after) { iteration lossD lossG }
}`;

/** How a subscriber drops its connection: TCP reset, WebSocket close 1000, or `complete` first. */
export const DISCONNECT_KINDS = ["terminate", "close", "unsubscribe"] as const;
export type DisconnectKind = (typeof DISCONNECT_KINDS)[number];

export interface SubscriberOptions {
  wsUrl: string;
  runId: string;
  /** The run's last iteration: what a finished stream must have reached. */
  iterations: number;
  rng: Rng;
  /** Mean time a connection lives before this subscriber drops it (exponential), ms. */
  disconnectMeanMs: number;
  /** Delay before reconnecting: uniform in [0, reconnectMaxMs), ms. */
  reconnectMaxMs: number;
}

export class SubscriberStats {
  /** Iterations received, duplicates included. */
  received = 0;
  lastSeen = 0;
  /** Iterations received that were at or below one already received. */
  duplicates = 0;
  /** Iterations skipped: a message more than one past the last seen. */
  missing = 0;
  /** Iterations beyond the run's last. */
  beyondEnd = 0;
  /** Connections acknowledged by the server. */
  connections = 0;
  /** From creating a client to the server's connection_ack. */
  readonly connectLatency = new Latencies();
  /** Subscriptions started (the first one and every resubscription). */
  subscriptions = 0;
  readonly disconnects: Record<DisconnectKind, number> = { terminate: 0, close: 0, unsubscribe: 0 };
  /** Streams the server ended with SUBSCRIBER_TOO_SLOW. */
  tooSlow = 0;
  /** SUBSCRIBER_TOO_SLOW errors whose extensions.after was not the last iteration received. */
  tooSlowAfterMismatch = 0;
  /** Streams that ended otherwise than by completing or by our own disconnect, by what ended them. */
  readonly unexpected = new Map<string, number>();
  /** The first few descriptions of what went wrong. */
  readonly anomalies: string[] = [];
  /** The stream completed normally (the run finished). */
  finished = false;
}

type Outcome = "finished" | "disconnected" | "too-slow" | "unexpected" | "aborted";

interface ProgressData {
  runProgress: { iteration: number };
}

interface ErrorLike {
  message?: string;
  extensions?: { code?: unknown; after?: unknown };
}

export class Subscriber {
  readonly stats = new SubscriberStats();

  constructor(
    readonly id: number,
    private readonly options: SubscriberOptions,
  ) {}

  /** Subscribes, drops and resubscribes until the stream completes normally or `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const outcome = await this.connectOnce(signal);
      if (outcome === "finished") {
        this.stats.finished = true;
        if (this.stats.lastSeen !== this.options.iterations) {
          this.anomaly(`stream completed at iteration ${this.stats.lastSeen}, not ${this.options.iterations}`);
        }
        return;
      }
      if (outcome === "aborted") return;
      await sleep(this.options.rng.uniform() * this.options.reconnectMaxMs, signal);
    }
  }

  /** One connection and one subscription, from `after: lastSeen` until something ends it. */
  private connectOnce(signal: AbortSignal): Promise<Outcome> {
    const { stats, options } = this;
    return new Promise<Outcome>((resolve) => {
      const started = performance.now();
      let socket: WebSocket | undefined;
      let settled = false;
      let tooSlow = false;
      let streamErrors: string | undefined;
      const client = createClient({
        url: options.wsUrl,
        webSocketImpl: WebSocket,
        // Reconnection is this class's job, with `after`, not the client's.
        retryAttempts: 0,
        lazyCloseTimeout: 0,
        on: {
          connected: (s) => {
            socket = s as WebSocket;
            stats.connections++;
            stats.connectLatency.add(performance.now() - started);
          },
        },
      });
      const settle = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        // Disposing a client whose connection failed rejects with that failure, already reported.
        Promise.resolve(client.dispose()).catch(() => undefined);
        resolve(outcome);
      };
      const onAbort = () => settle("aborted");
      signal.addEventListener("abort", onAbort);

      stats.subscriptions++;
      const unsubscribe = client.subscribe<ProgressData>(
        { query: PROGRESS, variables: { runId: options.runId, after: stats.lastSeen } },
        {
          next: (result) => {
            if (settled) return;
            const errors = (result.errors ?? []) as ErrorLike[];
            if (errors.length > 0) {
              const slow = errors.find((e) => e.extensions?.code === "SUBSCRIBER_TOO_SLOW");
              if (slow) {
                tooSlow = true;
                stats.tooSlow++;
                if (slow.extensions?.after !== stats.lastSeen) {
                  stats.tooSlowAfterMismatch++;
                  this.anomaly(`SUBSCRIBER_TOO_SLOW said after=${String(slow.extensions?.after)}, last received ${stats.lastSeen}`);
                }
              } else {
                streamErrors = errors.map((e) => String(e.extensions?.code ?? e.message)).join(",");
              }
              return;
            }
            const iteration = result.data?.runProgress.iteration;
            if (typeof iteration === "number") this.record(iteration);
          },
          error: (err) => {
            if (settled) return;
            this.unexpected(describeError(err));
            settle("unexpected");
          },
          complete: () => {
            if (settled) return;
            if (streamErrors !== undefined) {
              this.unexpected(`stream error ${streamErrors}`);
              settle("unexpected");
            } else settle(tooSlow ? "too-slow" : "finished");
          },
        },
      );

      // A deliberate drop, mid-stream, at a random moment.
      const lifetime = -Math.log(1 - options.rng.uniform()) * options.disconnectMeanMs;
      const kind = DISCONNECT_KINDS[Math.floor(options.rng.uniform() * DISCONNECT_KINDS.length)]!;
      const timer = setTimeout(() => {
        if (settled) return;
        stats.disconnects[kind]++;
        if (kind === "terminate") socket?.terminate(); // no close frame: the TCP connection just goes
        else if (kind === "unsubscribe") unsubscribe(); // `complete`, then the client closes (1000)
        settle("disconnected"); // disposing the client closes with 1000
      }, lifetime);
    });
  }

  private record(iteration: number): void {
    const { stats } = this;
    stats.received++;
    if (iteration <= stats.lastSeen) {
      stats.duplicates++;
      this.anomaly(`duplicate or out-of-order iteration ${iteration} after ${stats.lastSeen}`);
      return;
    }
    if (iteration > stats.lastSeen + 1) {
      stats.missing += iteration - stats.lastSeen - 1;
      this.anomaly(`gap: iteration ${iteration} after ${stats.lastSeen}`);
    }
    if (iteration > this.options.iterations) stats.beyondEnd++;
    stats.lastSeen = iteration;
  }

  private unexpected(what: string): void {
    this.stats.unexpected.set(what, (this.stats.unexpected.get(what) ?? 0) + 1);
  }

  private anomaly(what: string): void {
    if (this.stats.anomalies.length < 5) this.stats.anomalies.push(`subscriber ${this.id}: ${what}`);
  }
}

/** A label for what ended a stream: a close code, GraphQL error codes, or an error message. */
export function describeError(err: unknown): string {
  if (Array.isArray(err)) return `error message ${(err as ErrorLike[]).map((e) => String(e.extensions?.code ?? e.message)).join(",")}`;
  if (err && typeof err === "object" && "code" in err && typeof err.code === "number") {
    const reason = "reason" in err && typeof err.reason === "string" && err.reason ? ` ${err.reason.slice(0, 60)}` : "";
    return `close ${err.code}${reason}`;
  }
  // Error, or ws's ErrorEvent (a failed connection), which has a message but is no Error.
  const message = err && typeof err === "object" && "message" in err && typeof err.message === "string" ? err.message : String(err);
  return `error ${message.slice(0, 80)}`;
}

/** Response times, for their median, 95th percentile and maximum. */
export class Latencies {
  private readonly values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  all(): readonly number[] {
    return this.values;
  }

  get count(): number {
    return this.values.length;
  }

  get max(): number {
    return this.values.reduce((a, b) => Math.max(a, b), 0);
  }

  percentile(p: number): number {
    return this.values.length === 0 ? Number.NaN : percentile(this.values, p);
  }

  summary(): string {
    if (this.values.length === 0) return "-";
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    return `median ${ms(this.percentile(50))}, p95 ${ms(this.percentile(95))}, max ${ms(this.max)}`;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}
