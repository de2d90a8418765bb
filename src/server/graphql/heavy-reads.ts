import { GraphQLError } from "graphql";
import type { Server } from "node:http";
import { setImmediate as nextLoopTurn } from "node:timers/promises";
import pLimit, { type LimitFunction } from "p-limit";
import type { ServiceLimits } from "../settings.js";

/** Loop turns a heavy read waits at most for waiting connections to be accepted. */
const MAX_ACCEPT_TURNS = 100;
/**
 * And how long: under steady connection churn (subscribers reconnecting) every turn
 * accepts one, and on a busy loop 100 turns took seconds per read, starving the reads.
 */
const MAX_ACCEPT_WAIT_MS = 100;

/** Seconds a refused client is told to wait (Retry-After) before asking again. */
export const RETRY_AFTER_S = 1;

/** The refusal of a heavy read when MAX_QUEUED_READS already wait. */
export function serverBusy(limits: Pick<ServiceLimits, "maxHeavyReads" | "maxQueuedReads">): GraphQLError {
  return new GraphQLError(
    `the server is busy: ${limits.maxHeavyReads} heavy reads run and ${limits.maxQueuedReads} wait (MAX_HEAVY_READS, MAX_QUEUED_READS); try again in a moment`,
    { extensions: { code: "SERVER_BUSY", retryAfter: RETRY_AFTER_S } },
  );
}

export function isServerBusy(err: unknown): err is GraphQLError {
  return err instanceof GraphQLError && err.extensions.code === "SERVER_BUSY";
}

/**
 * Heavy reads take turns: operations estimated at HEAVY_READ_COST or more, and each
 * page of a metrics CSV export. Executing one holds the event loop (10,000 metric points
 * take some 100 ms of one core), so MAX_HEAVY_READS run at once, MAX_QUEUED_READS wait
 * in order, and more are refused with SERVER_BUSY: however many arrive, /healthz and
 * light queries wait for at most a few of them.
 *
 * Each turn starts on a new turn of the event loop, once the connections waiting to be
 * accepted are. On SQLite the store's queries run synchronously (better-sqlite3), so a
 * whole operation completes in promise callbacks alone: a turn handed over in one would start
 * the next read before the loop polls again, and all the queued reads would run back to
 * back while no connection is even accepted. And libuv accepts one connection per turn
 * of the loop: a probe that connects while 60 other connections wait would otherwise
 * wait for 60 heavy reads.
 */
export class HeavyReads {
  private readonly limit: LimitFunction;
  /** Connections accepted since the last look. */
  private arrivals = 0;

  constructor(private readonly limits: Pick<ServiceLimits, "maxHeavyReads" | "maxQueuedReads">) {
    this.limit = pLimit(limits.maxHeavyReads);
  }

  /** Runs `work` in its turn; SERVER_BUSY, without running it, when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.admit();
    return this.turn(work);
  }

  /** Runs `work` in its turn however long the queue: the next page of an export already under way. */
  continue<T>(work: () => Promise<T>): Promise<T> {
    return this.turn(work);
  }

  /**
   * Waits for a turn (SERVER_BUSY when the queue is full) and resolves with the function
   * that ends it, for work that starts and ends in separate hooks. Ending it twice is harmless.
   */
  async acquire(): Promise<() => void> {
    this.admit();
    return new Promise((granted) => void this.turn(() => new Promise<void>((end) => granted(() => end()))));
  }

  /** Counts the connections `server` accepts, so that turns wait while more may be waiting. */
  watch(server: Server): void {
    server.on("connection", () => this.arrivals++);
  }

  /** Reads running or waiting now. */
  get inFlight(): number {
    // p-limit counts a call as active or pending as soon as it is made.
    return this.limit.activeCount + this.limit.pendingCount;
  }

  private turn<T>(work: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      // A loop turn that accepted none means none waited; bounds keep a flood of
      // connections from holding the reads off for ever.
      const deadline = performance.now() + MAX_ACCEPT_WAIT_MS;
      for (let turns = 0; turns < MAX_ACCEPT_TURNS && performance.now() < deadline; turns++) {
        this.arrivals = 0;
        await nextLoopTurn();
        if (this.arrivals === 0) break;
      }
      return work();
    });
  }

  private admit(): void {
    if (this.inFlight >= this.limits.maxHeavyReads + this.limits.maxQueuedReads) throw serverBusy(this.limits);
  }
}
