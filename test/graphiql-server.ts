/**
 * A real, minimal GraphQL server for the GraphiQL test only: express 5 with
 * `graphiqlRouter` mounted first, POST/GET /graphql executing against a tiny schema, and
 * graphql-ws on the same http server and path for subscriptions.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Request, Response } from "express";
import { createRequire } from "node:module";
import type { GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { graphiqlRouter } from "../src/server/http/graphiql.js";

// graphql must be the same module instance graphql-ws uses. Node loads graphql-ws (kept
// external by vitest) and it gets graphql's CommonJS build, while vite's resolver would
// give this file graphql's "module" build (index.mjs): two realms, and graphql-ws then
// rejects the schema ("Cannot use GraphQLSchema ... from another module or realm").
// Loading graphql through Node's require gives this file the very same instance.
const cjsRequire = createRequire(import.meta.url);
const { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema: Schema, GraphQLString, graphql } =
  cjsRequire("graphql") as typeof import("graphql");

export interface TestServer {
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** Countdown values the server has emitted over graphql-ws, in order. */
  emitted: number[];
  close(): Promise<void>;
}

const COUNTDOWN_INTERVAL_MS = 50;

export function testSchema(emitted: number[] = []): GraphQLSchema {
  return new Schema({
    query: new GraphQLObjectType({
      name: "Query",
      fields: {
        hello: { type: GraphQLString, resolve: () => "world" },
      },
    }),
    subscription: new GraphQLObjectType({
      name: "Subscription",
      fields: {
        countdown: {
          type: GraphQLInt,
          args: { from: { type: new GraphQLNonNull(GraphQLInt) } },
          subscribe: async function* (_src: unknown, args: { from: number }) {
            for (let n = args.from; n >= 0; n--) {
              // The server's emission rate, not test synchronisation.
              await new Promise((resolve) => setTimeout(resolve, COUNTDOWN_INTERVAL_MS));
              emitted.push(n);
              yield { countdown: n };
            }
          },
        },
      },
    }),
  });
}

interface GraphQLBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

async function execute(schema: GraphQLSchema, body: GraphQLBody, res: Response): Promise<void> {
  if (typeof body.query !== "string") {
    res.status(400).json({ errors: [{ message: "query must be a string" }] });
    return;
  }
  const result = await graphql({
    schema,
    source: body.query,
    variableValues: (body.variables ?? undefined) as Record<string, unknown> | undefined,
    operationName: typeof body.operationName === "string" ? body.operationName : undefined,
  });
  res.json(result);
}

export async function startGraphiqlTestServer(): Promise<TestServer> {
  const emitted: number[] = [];
  const schema = testSchema(emitted);

  const app = express();
  app.use(graphiqlRouter({ endpoint: "/graphql" }));
  app.post("/graphql", express.json(), (req: Request, res: Response) => {
    void execute(schema, (req.body ?? {}) as GraphQLBody, res);
  });
  // Stands in for Apollo's GET handling: only reached when graphiqlRouter calls next().
  app.get("/graphql", (req: Request, res: Response) => {
    const q = req.query;
    void execute(
      schema,
      {
        query: q.query,
        variables: typeof q.variables === "string" ? (JSON.parse(q.variables) as unknown) : undefined,
        operationName: q.operationName,
      },
      res,
    );
  });

  const httpServer = createServer(app);
  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql" });
  const wsHandle = useServer({ schema }, wsServer);

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    emitted,
    async close() {
      await wsHandle.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve, reject) => httpServer.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
