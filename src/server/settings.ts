import { Command, InvalidArgumentError } from "commander";
import { resolve } from "node:path";

export interface ServerSettings {
  host: string;
  port: number;
  /** Checkpoints, samples and (by default) the database live here. */
  dataDir: string;
  databaseUrl: string;
  maxConcurrentRuns: number;
  /** When set, mutations and WebSocket connections need `Bearer <apiToken>`. */
  apiToken?: string;
  /** Listen on a non-loopback address without a token anyway. */
  allowInsecure?: boolean;
  /** Folders dataset paths must resolve into (symlinks followed). */
  dataRoots: string[];
}

function integer(min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };
}

/** Flags win over environment variables, which win over the defaults. */
export function readSettings(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const options = new Command("dcgan-server")
    .description("GraphQL service that trains DCGANs")
    .option("--host <host>", "address to bind (HOST)", env.HOST ?? "127.0.0.1")
    .option("--port <port>", "port, 0 for any free one (PORT)", integer(0), env.PORT ? integer(0)(env.PORT) : 4000)
    .option("--data-dir <dir>", "folder for the database, checkpoints and samples (DATA_DIR)", env.DATA_DIR ?? "data")
    .option("--database-url <url>", "SQLite database (DATABASE_URL; default: file:<data-dir>/dcgan.db)", env.DATABASE_URL)
    .option(
      "--max-concurrent-runs <n>",
      "runs that train at once; others wait QUEUED (MAX_CONCURRENT_RUNS)",
      integer(1),
      env.MAX_CONCURRENT_RUNS ? integer(1)(env.MAX_CONCURRENT_RUNS) : 1,
    )
    .option(
      "--data-roots <dirs>",
      "colon-separated folders that dataset paths must lie in (DATA_ROOTS; default: <data-dir>:/usr/share/datasets)",
      env.DATA_ROOTS,
    )
    .option("--allow-insecure", "listen on a non-loopback address without API_TOKEN (ALLOW_INSECURE=1)", env.ALLOW_INSECURE === "1")
    .parse(argv, { from: "user" })
    .opts<{ host: string; port: number; dataDir: string; databaseUrl?: string; maxConcurrentRuns: number; allowInsecure: boolean; dataRoots?: string }>();
  const dataDir = resolve(options.dataDir);
  return {
    host: options.host,
    port: options.port,
    dataDir,
    // Prisma's SQLite URLs take the path as is (a URL-encoded space would be taken literally).
    databaseUrl: options.databaseUrl ?? `file:${resolve(dataDir, "dcgan.db")}`,
    maxConcurrentRuns: options.maxConcurrentRuns,
    // From the environment only: a flag would show the token in `ps`.
    apiToken: env.API_TOKEN || undefined,
    allowInsecure: options.allowInsecure,
    dataRoots: (options.dataRoots ?? `${dataDir}:/usr/share/datasets`).split(":").filter(Boolean).map((d) => resolve(d)),
  };
}
