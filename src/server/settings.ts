import { Command } from "commander";
import { totalmem } from "node:os";
import { resolve } from "node:path";
import { integerFrom } from "../cli/args.js";
import { type KeepCheckpoints, parseKeepCheckpoints } from "./runs/retention.js";
import { DEFAULT_STALL_SETTINGS, type StallSettings } from "./workers/run-jobs.js";

/** Bounds on what one client can ask of the server; each has a flag and an environment variable. */
export interface ServiceLimits {
  maxQueryDepth: number;
  /** Estimated cost: fields, times the page size or points of the lists they are in. */
  maxQueryCost: number;
  /** Aliased fields in one operation, fragments expanded. */
  maxQueryAliases: number;
  /** Tokens (names, punctuation, values) in one GraphQL document. */
  maxQueryTokens: number;
  /** Operations estimated to cost at least this are heavy reads: they take turns. */
  heavyReadCost: number;
  /** Heavy reads (and pages of metrics CSV exports) executing at once. */
  maxHeavyReads: number;
  /** Heavy reads waiting for their turn; more are refused (SERVER_BUSY). */
  maxQueuedReads: number;
  /** Largest `first` of runs. */
  maxPageSize: number;
  /** Largest `maxPoints` of a run's metrics. */
  maxMetricPoints: number;
  maxBodyBytes: number;
  /** Operations running at once on one WebSocket connection. */
  maxOperationsPerConnection: number;
  /** WebSocket connections open at once from one client address. */
  maxConnectionsPerAddress: number;
  /** Events a subscriber may leave unread before its stream ends (SUBSCRIBER_TOO_SLOW). */
  subscriberBuffer: number;
  /** Runs, and generate requests, whose estimated tensor memory exceeds this are refused. */
  memoryBudgetMb: number;
  /** generate requests rendering at once, each in a process of its own. */
  maxConcurrentGenerates: number;
  /** Runs waiting QUEUED; startRun and resumeRun are refused past it. */
  maxQueuedRuns: number;
  /** Longest run name, in characters. */
  maxNameLength: number;
}

export interface ServerSettings {
  host: string;
  port: number;
  /** Checkpoints, samples and (by default) the database live here. */
  dataDir: string;
  databaseUrl: string;
  /** Runs this server trains at once (as a worker too, when distributed). */
  maxConcurrentRuns: number;
  /** Redis (BullMQ's queue, live events): set, runs are trained by whichever worker takes them. */
  redisUrl?: string;
  /** Whether this server trains runs (default on); off, with Redis, it only serves the API. */
  training?: boolean;
  /** How soon a lost worker's runs move on (with Redis; default DEFAULT_STALL_SETTINGS). */
  stalls?: StallSettings;
  /** When set, mutations and WebSocket connections need `Bearer <apiToken>`. */
  apiToken?: string;
  /** Listen on a non-loopback address without a token anyway. */
  allowInsecure?: boolean;
  /** Folders dataset paths must resolve into (symlinks followed). */
  dataRoots: string[];
  /** Origins (besides the server's own) whose pages may open WebSockets; "*" for any. */
  allowedOrigins: string[];
  /** Host names the server answers besides its own (see http/hosts.ts); "*" for any. */
  allowedHosts?: string[];
  /** Checkpoint retention of runs that name none (KEEP_CHECKPOINTS; default: keep all). */
  keepCheckpoints?: KeepCheckpoints;
  limits: ServiceLimits;
}

const LIMITS: { key: keyof ServiceLimits; flag: string; env: string; help: string; fallback: number }[] = [
  { key: "maxQueryDepth", flag: "max-query-depth", env: "MAX_QUERY_DEPTH", help: "deepest selection set", fallback: 12 },
  { key: "maxQueryCost", flag: "max-query-cost", env: "MAX_QUERY_COST", help: "estimated cost of one operation", fallback: 200_000 },
  { key: "maxQueryAliases", flag: "max-query-aliases", env: "MAX_QUERY_ALIASES", help: "aliased fields in one operation", fallback: 30 },
  { key: "maxQueryTokens", flag: "max-query-tokens", env: "MAX_QUERY_TOKENS", help: "tokens in one GraphQL document", fallback: 2000 },
  { key: "heavyReadCost", flag: "heavy-read-cost", env: "HEAVY_READ_COST", help: "estimated cost from which an operation is a heavy read", fallback: 10_000 },
  { key: "maxHeavyReads", flag: "max-heavy-reads", env: "MAX_HEAVY_READS", help: "heavy reads and CSV export pages executing at once", fallback: 1 },
  { key: "maxQueuedReads", flag: "max-queued-reads", env: "MAX_QUEUED_READS", help: "heavy reads waiting their turn before more are refused", fallback: 32 },
  { key: "maxPageSize", flag: "max-page-size", env: "MAX_PAGE_SIZE", help: "largest runs(first:)", fallback: 100 },
  { key: "maxMetricPoints", flag: "max-metric-points", env: "MAX_METRIC_POINTS", help: "largest metrics(maxPoints:)", fallback: 10_000 },
  { key: "maxBodyBytes", flag: "max-body-bytes", env: "MAX_BODY_BYTES", help: "largest HTTP request body", fallback: 1024 * 1024 },
  {
    key: "maxOperationsPerConnection",
    flag: "max-operations-per-connection",
    env: "MAX_OPERATIONS_PER_CONNECTION",
    help: "operations at once on one WebSocket",
    fallback: 100,
  },
  {
    key: "maxConnectionsPerAddress",
    flag: "max-connections-per-address",
    env: "MAX_CONNECTIONS_PER_ADDRESS",
    help: "WebSockets at once from one client address",
    fallback: 256,
  },
  { key: "subscriberBuffer", flag: "subscriber-buffer", env: "SUBSCRIBER_BUFFER", help: "unread events before a slow subscriber is dropped", fallback: 2000 },
  {
    key: "maxConcurrentGenerates",
    flag: "max-concurrent-generates",
    env: "MAX_CONCURRENT_GENERATES",
    help: "generate requests rendering at once, each in its own process",
    fallback: 2,
  },
  { key: "maxQueuedRuns", flag: "max-queued-runs", env: "MAX_QUEUED_RUNS", help: "runs waiting QUEUED before startRun and resumeRun are refused", fallback: 100 },
  { key: "maxNameLength", flag: "max-name-length", env: "MAX_NAME_LENGTH", help: "longest run name, in characters", fallback: 200 },
  {
    key: "memoryBudgetMb",
    flag: "memory-budget-mb",
    env: "MEMORY_BUDGET_MB",
    help: "refuse runs estimated to need more tensor memory (default: half the RAM)",
    fallback: Math.floor(totalmem() / 2 / 2 ** 20),
  },
];

/** Runs per page when a query does not say (or MAX_PAGE_SIZE, if lower). */
export function defaultPageSize(limits: Pick<ServiceLimits, "maxPageSize">): number {
  return Math.min(20, limits.maxPageSize);
}

/** The limits when no flag or variable sets them. */
export const DEFAULT_LIMITS = Object.fromEntries(LIMITS.map((l) => [l.key, l.fallback])) as unknown as ServiceLimits;

function commaList(value: string): string[] {
  return value.split(",").map((item) => item.trim()).filter(Boolean);
}

/** DATA_ROOTS / --data-roots: colon-separated folders; by default the data folder and Debian's datasets. */
export function dataRootsFrom(option: string | undefined, dataDir: string): string[] {
  return (option ?? `${dataDir}:/usr/share/datasets`).split(":").filter(Boolean).map((d) => resolve(d));
}

/** A commander option taking a whole number >= `min`, its default from the variable `name`, else `fallback`. */
export function integerOption(env: NodeJS.ProcessEnv, flag: string, name: string, help: string, min: number, fallback: number) {
  return [`--${flag} <n>`, `${help} (${name})`, integerFrom(min), env[name] ? integerFrom(min)(env[name]) : fallback] as const;
}

/** How long a worker may go silent before its runs move to another: its lock, and how often workers check. */
export function stallTimeoutOption(env: NodeJS.ProcessEnv) {
  return integerOption(env, "stall-timeout-ms", "STALL_TIMEOUT_MS", "ms after which a lost worker's runs move to another worker, within about twice this", 1000, DEFAULT_STALL_SETTINGS.lockMs);
}

export function maxStallsOption(env: NodeJS.ProcessEnv) {
  return integerOption(env, "max-stalls", "MAX_STALLS", "times a run may lose its worker and be taken over; once more fails it", 0, DEFAULT_STALL_SETTINGS.maxStalls);
}

export function stallSettings(options: { stallTimeoutMs: number; maxStalls: number }): StallSettings {
  return { lockMs: options.stallTimeoutMs, stalledIntervalMs: options.stallTimeoutMs, maxStalls: options.maxStalls };
}

/** Flags win over environment variables, which win over the defaults. */
export function readSettings(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const fromEnv = (name: string, min: number, fallback: number) => (env[name] ? integerFrom(min)(env[name]) : fallback);
  const command = new Command("dcgan-server")
    .description("GraphQL service that trains DCGANs")
    .option("--host <host>", "address to bind (HOST)", env.HOST ?? "127.0.0.1")
    .option("--port <port>", "port, 0 for any free one (PORT)", integerFrom(0), fromEnv("PORT", 0, 4000))
    .option("--data-dir <dir>", "folder for the database, checkpoints and samples (DATA_DIR)", env.DATA_DIR ?? "data")
    .option("--database-url <url>", "the database: file:<path> for SQLite, postgresql://... for PostgreSQL (DATABASE_URL; default: file:<data-dir>/dcgan.db)", env.DATABASE_URL)
    .option(
      "--max-concurrent-runs <n>",
      "runs that train at once; others wait QUEUED (MAX_CONCURRENT_RUNS)",
      integerFrom(1),
      fromEnv("MAX_CONCURRENT_RUNS", 1, 1),
    )
    .option("--redis-url <url>", "Redis for the run queue and live events across API replicas and workers (REDIS_URL; default: none, one machine)", env.REDIS_URL)
    .option("--no-training", "serve the API only; `dcgan worker`s train the runs (TRAINING=off; needs --redis-url)")
    .option(...stallTimeoutOption(env))
    .option(...maxStallsOption(env))
    .option(
      "--data-roots <dirs>",
      "colon-separated folders that dataset paths must lie in (DATA_ROOTS; default: <data-dir>:/usr/share/datasets)",
      env.DATA_ROOTS,
    )
    .option(
      "--allowed-origins <origins>",
      "comma-separated origins, besides the server's own, whose pages may open WebSockets; * for any (ALLOWED_ORIGINS)",
      env.ALLOWED_ORIGINS ?? "",
    )
    .option(
      "--allowed-hosts <names>",
      "comma-separated host names the server answers besides its own (IP addresses, localhost; beyond loopback the machine's name); * for any (ALLOWED_HOSTS)",
      env.ALLOWED_HOSTS ?? "",
    )
    .option("--allow-insecure", "listen on a non-loopback address without API_TOKEN (ALLOW_INSECURE=1)", env.ALLOW_INSECURE === "1")
    .option(
      "--keep-checkpoints <policy>",
      "checkpoint retention of runs that name none: last=N (the newest N) and/or every=K (multiples of K), e.g. last=5,every=1000 (KEEP_CHECKPOINTS; default: keep all)",
      parseKeepCheckpoints,
      env.KEEP_CHECKPOINTS ? parseKeepCheckpoints(env.KEEP_CHECKPOINTS) : undefined,
    );
  for (const limit of LIMITS) {
    command.option(`--${limit.flag} <n>`, `${limit.help} (${limit.env})`, integerFrom(1), fromEnv(limit.env, 1, limit.fallback));
  }
  const options = command.parse(argv, { from: "user" }).opts<
    {
      host: string;
      port: number;
      dataDir: string;
      databaseUrl?: string;
      maxConcurrentRuns: number;
      allowInsecure: boolean;
      dataRoots?: string;
      allowedOrigins: string;
      allowedHosts: string;
      redisUrl?: string;
      training: boolean;
      stallTimeoutMs: number;
      maxStalls: number;
      keepCheckpoints?: KeepCheckpoints;
    } & ServiceLimits
  >();
  const dataDir = resolve(options.dataDir);
  return {
    host: options.host,
    port: options.port,
    dataDir,
    // Prisma's SQLite URLs take the path as is (a URL-encoded space would be taken literally).
    databaseUrl: options.databaseUrl ?? `file:${resolve(dataDir, "dcgan.db")}`,
    maxConcurrentRuns: options.maxConcurrentRuns,
    redisUrl: options.redisUrl || undefined,
    training: options.training && env.TRAINING !== "off",
    stalls: stallSettings(options),
    // From the environment only: a flag would show the token in `ps`.
    apiToken: env.API_TOKEN || undefined,
    allowInsecure: options.allowInsecure,
    dataRoots: dataRootsFrom(options.dataRoots, dataDir),
    allowedOrigins: commaList(options.allowedOrigins),
    allowedHosts: commaList(options.allowedHosts),
    keepCheckpoints: options.keepCheckpoints,
    limits: Object.fromEntries(LIMITS.map((l) => [l.key, options[l.key]])) as unknown as ServiceLimits,
  };
}
