import { createClient, type Client } from "graphql-ws";
import { pino } from "pino";
import { afterAll } from "vitest";
import WebSocket from "ws";
import { startService, type Service } from "../src/server/service.js";
import { DEFAULT_LIMITS, type ServerSettings, type ServiceLimits } from "../src/server/settings.js";
import { tempDir } from "./helpers.js";
import { type GraphQLResponse, postGraphQL } from "./process-helpers.js";
import { freshDatabase } from "./store-helpers.js";

export interface TestServer {
  service: Service;
  dataDir: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The whole response: GraphQL errors are in it, they do not throw (gqlData in process-helpers.ts throws them). */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  ws: Client;
}

export interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; field?: string };
}

/** A real server on an ephemeral port with its own data folder, and its own SQLite file unless `databaseUrl` names a database. */
export async function startTestServer(
  settings: Partial<Omit<ServerSettings, "limits">> & { limits?: Partial<ServiceLimits> } = {},
): Promise<TestServer> {
  const dataDir = await tempDir();
  const service = await startService(
    {
      host: "127.0.0.1",
      port: 0,
      dataDir,
      maxConcurrentRuns: 1,
      dataRoots: [dataDir, "/usr/share/datasets"],
      allowedOrigins: [],
      ...settings,
      databaseUrl: settings.databaseUrl ?? (await freshDatabase()),
      limits: { ...DEFAULT_LIMITS, ...settings.limits },
    },
    pino({ level: "silent" }),
  );
  const origin = service.url.replace(/\/graphql$/, "");
  const ws = createClient({
    url: service.url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    lazy: true,
    connectionParams: settings.apiToken ? { authorization: `Bearer ${settings.apiToken}` } : undefined,
  });
  afterAll(async () => {
    await ws.dispose();
    await service.close();
  });
  return {
    service,
    dataDir,
    origin,
    ws,
    gql: <T,>(query: string, variables?: Record<string, unknown>) => postGraphQL<T>(service.url, query, variables, settings.apiToken ? { authorization: `Bearer ${settings.apiToken}` } : {}),
  };
}

/** Collects a subscription's events until `until` returns true, then unsubscribes. */
export async function collect<T>(
  ws: Client,
  query: string,
  variables: Record<string, unknown>,
  until: (events: T[]) => boolean = () => false,
): Promise<{ events: T[]; completed: boolean }> {
  const events: T[] = [];
  const iterator = ws.iterate<T>({ query, variables });
  let completed = true;
  for await (const result of iterator) {
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    events.push(result.data as T);
    if (until(events)) {
      completed = false;
      await iterator.return?.();
      break;
    }
  }
  return { events, completed };
}

/** A raw graphql-ws WebSocket: open, or the HTTP answer that refused the upgrade. */
export function openSocket(url: string, origin?: string): Promise<{ socket: WebSocket } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, "ws"), "graphql-transport-ws", origin ? { origin } : {});
    socket.once("open", () => resolve({ socket }));
    socket.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    socket.once("error", reject);
  });
}
