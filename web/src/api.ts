import { createClient, type Client } from "graphql-ws";

/** The server's GraphQL endpoint: the dashboard is served by the same server. */
const ENDPOINT = "/graphql";
const TOKEN_KEY = "dcgan.apiToken";

export function apiToken(): string {
  return localStorage.getItem(TOKEN_KEY) ?? "";
}

export function setApiToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  wsClient?.dispose();
  wsClient = undefined;
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; field?: string };
}

/** One error of an answer; `field` names the input it refuses. */
export interface ErrorDetail {
  message: string;
  code?: string;
  field?: string;
}

/** A GraphQL error answer: `code` and `field` come from the server's extensions. */
export class ApiError extends Error {
  readonly code?: string;
  readonly field?: string;
  /** Every error of the answer, this one first: a refused request names each invalid field in an error of its own. */
  readonly errors: ErrorDetail[];

  constructor(error: GraphQLErrorBody, all: GraphQLErrorBody[] = [error]) {
    super(error.message);
    this.name = "ApiError";
    this.code = error.extensions?.code;
    this.field = error.extensions?.field;
    this.errors = all.map((e) => ({ message: e.message, code: e.extensions?.code, field: e.extensions?.field }));
  }
}

/** A query or mutation over HTTP: T and V are its generated result and variables types (schema-types.ts). */
export async function request<T, V extends Record<string, unknown> = Record<string, unknown>>(query: string, variables?: V): Promise<T> {
  const token = apiToken();
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables: variables ?? {} }),
  });
  const body = (await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }))) as {
    data?: T;
    errors?: GraphQLErrorBody[];
  };
  if (body.errors?.[0]) throw new ApiError(body.errors[0], body.errors);
  return body.data!;
}

let wsClient: Client | undefined;

function subscriptions(): Client {
  wsClient ??= createClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${ENDPOINT}`,
    connectionParams: () => {
      const token = apiToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    lazy: true,
    // A restarted server or a dropped network: reconnect, and let each view resubscribe.
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  return wsClient;
}

export interface SubscriptionHandlers<T> {
  next(data: T): void;
  error?(error: ApiError): void;
  complete?(): void;
}

/** A subscription over graphql-ws; the returned function ends it. */
export function subscribe<T, V extends Record<string, unknown> = Record<string, unknown>>(query: string, variables: V, handlers: SubscriptionHandlers<T>): () => void {
  return subscriptions().subscribe<T>(
    { query, variables },
    {
      next: ({ data, errors }) => {
        if (errors?.[0]) handlers.error?.(new ApiError(errors[0] as GraphQLErrorBody));
        else if (data) handlers.next(data);
      },
      error: (error) => {
        const first = Array.isArray(error) ? (error[0] as GraphQLErrorBody | undefined) : undefined;
        handlers.error?.(new ApiError(first ?? { message: error instanceof Error ? error.message : "subscription failed" }));
      },
      complete: () => handlers.complete?.(),
    },
  );
}
