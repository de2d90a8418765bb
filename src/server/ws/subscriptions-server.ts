import { execute, type ExecutionArgs, GraphQLError, type GraphQLSchema, parse, validate } from "graphql";
import { MessageType } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocket, WebSocketServer } from "ws";
import type { Context } from "../graphql/context.js";
import { type HeavyReads, isServerBusy } from "../graphql/heavy-reads.js";
import { operationLimiter } from "../graphql/limits.js";
import { sourceLimitError } from "../graphql/source-limits.js";
import { formatForClient, splitFieldErrors } from "../graphql/client-errors.js";
import { bearerMatches } from "../http/auth.js";
import { SharedFrames } from "./shared-frames.js";
import { sharedSubscribe } from "./shared-subscribe.js";
import { UpgradeGate } from "./upgrade-gate.js";

/** Message types only a server sends: graphql-ws would take one from a client as its own bug (4500). */
const SERVER_MESSAGES: ReadonlySet<unknown> = new Set([MessageType.ConnectionAck, MessageType.Next, MessageType.Error]);

/**
 * GraphQL over WebSocket (graphql-ws) on `path` of the HTTP server: upgrades pass the
 * host, origin and per-address limits, messages the body limit, connections need the
 * API token when one is set, and every operation gets the same depth, cost and error
 * masking as over HTTP, plus a cap on operations per connection.
 */
export function serveSubscriptions(options: {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  context: Context;
  apiToken?: string;
  allowedOrigins: string[];
  /** Why a Host header is not the server's, or undefined (http/hosts.ts). */
  hostRefusal: (host: string | undefined) => string | undefined;
  /** The HTTP side's queue of heavy reads: one for both transports. */
  heavyReads: HeavyReads;
  logger: Logger;
}): { dispose(): Promise<void> } {
  const { server, path, schema, context, apiToken, heavyReads, logger } = options;
  const { limits } = context;
  const limitErrors = operationLimiter(limits);
  // Operations onSubscribe found heavy: execute runs them in their turn.
  const heavy = new WeakSet<ExecutionArgs>();
  // ws refuses a message longer than this from its frame header (close 1009), before
  // buffering it; without it, it would buffer 100 MiB per message before any token check.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: limits.maxBodyBytes });
  // Messages are written by `frames`, a payload shared by many subscribers once.
  const frames = new SharedFrames();
  const gate = new UpgradeGate({
    path,
    allowedOrigins: options.allowedOrigins,
    hostRefusal: options.hostRefusal,
    maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
  });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!gate.admit(request, socket)) return;
    wsServer.handleUpgrade(request, socket, head, (connection) => {
      gate.track(request, connection);
      frames.install(connection);
      wsServer.emit("connection", connection, request);
      // A socket's errors are the client's broken frames (ws has already closed it with
      // 1002, 1007 or 1009): graphql-ws's listener, just added, would print each with its
      // stack through console.error. One debug line in the log instead.
      connection.removeAllListeners("error");
      connection.on("error", (err) => logger.debug({ address: request.socket.remoteAddress, reason: err.message }, "WebSocket closed: bad frame"));
    });
  };
  server.on("upgrade", onUpgrade);
  const masked = (errors: readonly GraphQLError[]) => splitFieldErrors(errors.map((error) => formatForClient(error.toJSON(), error, logger)));
  const graphqlWs = useServer(
    {
      schema,
      subscribe: sharedSubscribe(frames),
      jsonMessageReplacer: frames.replacer,
      // A broken message closes the connection with 4400 instead.
      jsonMessageReviver: (key, value: unknown) => {
        if (key === "" && SERVER_MESSAGES.has((value as { type?: unknown } | null)?.type)) throw new Error("a server-only message");
        return value;
      },
      // Returning false closes the socket with 4403 Forbidden.
      // GraphiQL forwards its headers as connection params, as "Authorization".
      onConnect: ({ connectionParams = {} }) =>
        !apiToken ||
        bearerMatches(Object.entries(connectionParams).find(([key]) => key.toLowerCase() === "authorization")?.[1], apiToken),
      onSubscribe: (ctx, _id, payload) => {
        // The new operation is already counted.
        if (Object.keys(ctx.subscriptions).length > limits.maxOperationsPerConnection) {
          return [
            new GraphQLError(`at most ${limits.maxOperationsPerConnection} operations at once on one connection (MAX_OPERATIONS_PER_CONNECTION)`, {
              extensions: { code: "TOO_MANY_OPERATIONS" },
            }),
          ];
        }
        const tooLarge = sourceLimitError(payload.query, limits);
        if (tooLarge) return [tooLarge];
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          // A syntax error, or a document nested deeper than the parser's stack.
          return [err instanceof GraphQLError ? err : new GraphQLError("the query cannot be parsed", { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const variableValues = payload.variables ?? undefined;
        const operationName = payload.operationName ?? undefined;
        const verdict = limitErrors(schema, document, variableValues, operationName);
        if (verdict.errors.length > 0) return verdict.errors;
        const args = { schema, document, variableValues, operationName, contextValue: context };
        if (verdict.heavy) heavy.add(args);
        return args;
      },
      // Queries and mutations (subscriptions go to subscribe); a heavy one refused for a
      // full queue ends with SERVER_BUSY, as over HTTP.
      execute: (args) => {
        if (!heavy.has(args)) return execute(args);
        return heavyReads.run(async () => execute(args)).catch((err: unknown) => {
          if (isServerBusy(err)) return { errors: [err] };
          throw err;
        });
      },
      // The result itself, not graphql-ws's copy of it: `frames` knows a shared one by identity.
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: masked(result.errors) } : result),
      // A stream whose client went away fails writing to it (EPIPE): nobody is left to tell.
      onError: (ctx, _id, _payload, errors) => (ctx.extra.socket.readyState === WebSocket.OPEN ? masked(errors) : undefined),
    },
    wsServer,
  );
  return {
    dispose: async () => {
      server.off("upgrade", onUpgrade);
      await graphqlWs.dispose();
    },
  };
}
