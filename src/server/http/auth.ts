import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";

/**
 * Whether an Authorization value is `Bearer <token>`, the scheme in any case (RFC 7235
 * makes it case-insensitive; RFC 6750 allows one or more spaces after it). Compares
 * digests in constant time, so response timing reveals nothing about the token.
 */
export function bearerMatches(authorization: unknown, token: string): boolean {
  if (typeof authorization !== "string") return false;
  const credentials = /^bearer +(.*)$/is.exec(authorization)?.[1] ?? "";
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(credentials), digest(token));
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
