import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";

/**
 * Whether an Authorization value is `Bearer <token>`. Compares digests in constant
 * time, so response timing reveals nothing about the token.
 */
export function bearerMatches(authorization: unknown, token: string): boolean {
  if (typeof authorization !== "string") return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(authorization), digest(`Bearer ${token}`));
}

/** With a token set, mutations over HTTP need it; queries stay open for dashboards and probes. */
export function mutationsNeedToken(token: string): ApolloServerPlugin {
  return {
    requestDidStart: async ({ request }) => ({
      didResolveOperation: async ({ operation }) => {
        if (operation?.operation === "mutation" && !bearerMatches(request.http?.headers.get("authorization"), token)) {
          throw new GraphQLError("mutations need the API token: send `Authorization: Bearer <API_TOKEN>`", {
            extensions: { code: "UNAUTHENTICATED", http: { status: 401 } },
          });
        }
      },
    }),
  };
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
