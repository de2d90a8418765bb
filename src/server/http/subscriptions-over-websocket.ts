import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";

/**
 * A subscription sent over HTTP would run its field resolver once, as a query, with
 * no event to resolve: it is refused, with where subscriptions are served instead.
 */
export function subscriptionsOverWebSocket(path: string): ApolloServerPlugin {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ operation }) => {
        if (operation?.operation === "subscription") {
          throw new GraphQLError(`subscriptions are served over WebSocket (graphql-ws, graphql-transport-ws) at ${path}`, {
            extensions: { code: "BAD_REQUEST", http: { status: 400 } },
          });
        }
      },
    }),
  };
}
