import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import type { GraphQLSchema } from "graphql";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Context } from "./graphql/context.js";
import { HeavyReads } from "./graphql/heavy-reads.js";
import { operationLimits } from "./graphql/limits.js";
import { refuseOversizedDocuments } from "./graphql/source-limits.js";
import { stringifyResult } from "./graphql/stringify-result.js";
import { formatForClient, splitFieldErrorsOverHttp } from "./graphql/client-errors.js";
import { mutationsNeedToken } from "./http/auth.js";
import { dashboardRouter } from "./http/dashboard.js";
import { filesRouter } from "./http/files.js";
import { graphiqlRouter } from "./http/graphiql.js";
import { hostChecker, ownHostsOnly } from "./http/hosts.js";
import { jsonErrors } from "./http/json-errors.js";
import { subscriptionsOverWebSocket } from "./http/subscriptions-over-websocket.js";
import { serveSubscriptions } from "./ws/subscriptions-server.js";

export const GRAPHQL_PATH = "/graphql";

export interface HttpServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * One HTTP server, one port: GraphQL queries and mutations over HTTP (Apollo),
 * subscriptions over WebSocket on the same path (graphql-ws), the dashboard at `/`,
 * GraphiQL for browsers, sample, checkpoint and metrics files, and a health probe.
 */
export async function startHttpServer(options: {
  schema: GraphQLSchema;
  context: Context;
  dataDir: string;
  host: string;
  port: number;
  apiToken?: string;
  allowedOrigins: string[];
  /** Host names answered besides the server's own (http/hosts.ts). */
  allowedHosts: string[];
  logger: Logger;
}): Promise<HttpServer> {
  const { schema, context, host, port, apiToken, logger } = options;
  const app = express();
  // Which framework answers is no client's business.
  app.disable("x-powered-by");
  const server = createServer(app);
  const hostRefusal = hostChecker(host, options.allowedHosts);
  // One queue of heavy reads for both transports and the CSV exports.
  const heavyReads = new HeavyReads(context.limits);
  heavyReads.watch(server);
  const subscriptions = serveSubscriptions({ server, path: GRAPHQL_PATH, schema, context, apiToken, allowedOrigins: options.allowedOrigins, hostRefusal, heavyReads, logger });
  const apollo = new ApolloServer<Context>({
    schema,
    // Stack traces tell attackers about the server; only a developer wants them.
    includeStacktraceInErrorResponses: process.env.NODE_ENV === "development",
    // The service stops on signals itself, runs first (src/server/main.ts). Apollo's own
    // handlers (on unless NODE_ENV=test) stop only the HTTP server, then re-raise the
    // signal, which reads as a second Ctrl-C and quits before the runs are recorded.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatForClient(formatted, error, logger),
    stringifyResult: stringifyResult(logger),
    plugins: [
      splitFieldErrorsOverHttp(),
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      {
        serverWillStart: async () => ({
          drainServer: async () => {
            await subscriptions.dispose();
          },
        }),
      },
      ApolloServerPluginLandingPageDisabled(),
      // Its per-field hook would wrap every resolver (thousands per metrics query); nothing here is cacheable anyway.
      ApolloServerPluginCacheControlDisabled(),
      operationLimits(context.limits, heavyReads),
      subscriptionsOverWebSocket(GRAPHQL_PATH),
      ...(apiToken ? [mutationsNeedToken(apiToken)] : []),
    ],
  });
  await apollo.start();

  app.use(ownHostsOnly(hostRefusal));
  app.get("/healthz", (_req, res) => void res.json({ ok: true }));
  app.use(filesRouter(context.store, options.dataDir, heavyReads));
  app.use(dashboardRouter());
  app.use(graphiqlRouter({ endpoint: GRAPHQL_PATH }));
  app.use(
    GRAPHQL_PATH,
    express.json({ limit: context.limits.maxBodyBytes }),
    // Express 5 leaves the body unset when there is none (a GET, another content type);
    // Apollo then answers with a CSRF or "missing query" error rather than a 500.
    (req, _res, next) => {
      req.body ??= {};
      next();
    },
    refuseOversizedDocuments(context.limits),
    expressMiddleware(apollo, { context: async () => context }),
  );
  app.use(jsonErrors(logger));

  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}${GRAPHQL_PATH}`;
  logger.info({ url }, "listening");
  return {
    server,
    url,
    close: async () => {
      await apollo.stop();
    },
  };
}
