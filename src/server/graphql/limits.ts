import { type ApolloServerPlugin, HeaderMap } from "@apollo/server";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { type DocumentNode, GraphQLError, type GraphQLSchema, validate, type ValidationRule } from "graphql";
import type { ComplexityEstimator } from "graphql-query-complexity";
import { createRequire } from "node:module";
import { defaultPageSize, type ServiceLimits } from "../settings.js";
import { type HeavyReads, isServerBusy, RETRY_AFTER_S } from "./heavy-reads.js";

// Required, not imported: the CommonJS build shares graphql's CommonJS copy with
// everything else, whereas the ESM build imports graphql's .mjs files, a second copy
// whose checks reject our schema's types. (Node and Vite also disagree on what a
// default import of that build is.)
const { getComplexity, simpleEstimator } = createRequire(import.meta.url)("graphql-query-complexity") as typeof import("graphql-query-complexity");

type QueryLimits = Pick<ServiceLimits, "maxQueryDepth" | "maxQueryCost" | "maxQueryAliases" | "heavyReadCost" | "maxPageSize" | "maxMetricPoints" | "maxQueuedRuns">;

/**
 * Fields whose resolvers do far more than one unit of cost says, priced in units of a
 * metric point's field (some 10 µs each on this 2-core machine): `system` checks the
 * backends and datasets and queries the queue (about 2,000 units), and the schema's
 * introspection builds every type, field and argument (about 4,000).
 */
const FIELD_PRICES: Readonly<Record<string, number>> = {
  "Query.system": 2000,
  "Query.__schema": 4000,
  "Query.__type": 100,
};

/** The price of the fields FIELD_PRICES names, plus what is selected inside them. */
const pricedEstimator: ComplexityEstimator = ({ type, field, childComplexity }) => {
  const price = FIELD_PRICES[`${type.name}.${field.name}`];
  return price === undefined ? undefined : price + childComplexity;
};

/**
 * A list field marked with `@Extensions({ listSize: "<argument>" })` costs its items'
 * cost times that argument, or the size the server uses when it is absent; plus, per
 * item, `itemPrice` when the extensions name one. `listSize: "sweepRuns"` is no
 * argument: a sweep's runs, at most MAX_QUEUED_RUNS (startSweep queues them all at once).
 */
function listEstimator(limits: QueryLimits): ComplexityEstimator {
  const sizeWhenAbsent: Record<string, number> = { first: defaultPageSize(limits), maxPoints: limits.maxMetricPoints, sweepRuns: limits.maxQueuedRuns };
  return ({ field, args, childComplexity }) => {
    const { listSize: sizeArgument, itemPrice = 0 } = field.extensions as { listSize?: unknown; itemPrice?: number };
    if (typeof sizeArgument !== "string") return undefined;
    const size = (args[sizeArgument] as number | null | undefined) ?? sizeWhenAbsent[sizeArgument] ?? 1;
    return 1 + Math.max(1, size) * (childComplexity + itemPrice);
  };
}

/**
 * graphql-query-complexity stops counting past 10,000 fields (fragments spread many
 * times count each time) and throws this. Such an operation's cost is unknown but high:
 * it is refused, never let through as if within the limits.
 */
const TOO_MANY_NODES = "Query exceeds the maximum allowed number of nodes.";

/** What the limits make of an operation: why it is refused, or whether it must take turns. */
export interface OperationVerdict {
  errors: GraphQLError[];
  /** Estimated at HEAVY_READ_COST or more: it runs in its turn (HeavyReads). */
  heavy: boolean;
}

export type OperationLimiter = (
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
) => OperationVerdict;

/** graphql-armor's options for a rule whose refusals are reported as validation errors rather than thrown out of validate(). */
function reported(n: number) {
  return {
    n,
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: { reportError(error: GraphQLError): void } | null, error: GraphQLError) => {
        if (!context) throw error;
        context.reportError(error);
      },
    ],
  };
}

/** The errors of one armor rule, each with `code` and the setting that bounds it named. */
function refusals(schema: GraphQLSchema, document: DocumentNode, rule: ValidationRule, code: string, setting: string): GraphQLError[] {
  return validate(schema, document, [rule]).map(
    (err) => new GraphQLError(`${err.message.replace(/^Syntax Error: /, "")} (${setting})`, { extensions: { code } }),
  );
}

/** The limiter for `limits`, its validation rules and estimators made once, not per operation. */
export function operationLimiter(limits: QueryLimits): OperationLimiter {
  const depthRule = maxDepthRule({ ...reported(limits.maxQueryDepth), ignoreIntrospection: true });
  // Every alias counts: aliases of __typename (which armor lets through by default) pad an
  // operation just as well.
  const aliasesRule = maxAliasesRule({ ...reported(limits.maxQueryAliases), allowList: [] });
  const estimators = [pricedEstimator, listEstimator(limits), simpleEstimator({ defaultComplexity: 1 })];
  const refused = (errors: GraphQLError[]): OperationVerdict => ({ errors, heavy: false });
  const tooCostly = (cost: string) =>
    refused([
      new GraphQLError(`operation cost ${cost} exceeds the limit of ${limits.maxQueryCost} (MAX_QUERY_COST): ask for fewer runs, metric points or fields`, {
        extensions: { code: "QUERY_TOO_COSTLY", limit: limits.maxQueryCost },
      }),
    ]);
  return (schema, document, variables, operationName) => {
    const tooDeep = refusals(schema, document, depthRule, "QUERY_TOO_DEEP", "MAX_QUERY_DEPTH");
    if (tooDeep.length > 0) return refused(tooDeep);
    const tooManyAliases = refusals(schema, document, aliasesRule, "TOO_MANY_ALIASES", "MAX_QUERY_ALIASES");
    if (tooManyAliases.length > 0) return refused(tooManyAliases);
    let cost: number;
    try {
      cost = getComplexity({ schema, query: document, variables, operationName, estimators });
    } catch (err) {
      if (err instanceof GraphQLError && err.message === TOO_MANY_NODES) return tooCostly("(more than 10,000 fields, fragments expanded)");
      // Variables that do not fit the operation: execution reports them precisely.
      if (err instanceof GraphQLError) return { errors: [], heavy: false };
      throw err;
    }
    if (cost > limits.maxQueryCost) return tooCostly(String(cost));
    return { errors: [], heavy: cost >= limits.heavyReadCost };
  };
}

/** `error` answered over HTTP with `status`. */
function withHttpStatus(error: GraphQLError, status: number, headers?: HeaderMap): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: headers ? { status, headers } : { status } } });
}

/**
 * Applies the limits to every HTTP operation once it is parsed and validated, and runs
 * the heavy ones in their turn.
 */
export function operationLimits(limits: QueryLimits, heavyReads: HeavyReads): ApolloServerPlugin {
  const check = operationLimiter(limits);
  return {
    requestDidStart: async () => {
      let turn: Promise<() => void> | undefined;
      return {
        didResolveOperation: async ({ schema, document, request }) => {
          const { errors, heavy } = check(schema, document, request.variables, request.operationName);
          if (errors[0]) throw withHttpStatus(errors[0], 400);
          if (!heavy) return;
          turn = heavyReads.acquire();
          await turn.catch((err: unknown) => {
            throw isServerBusy(err) ? withHttpStatus(err, 503, new HeaderMap([["retry-after", String(RETRY_AFTER_S)]])) : err;
          });
        },
        // Called however the request ends, also when another plugin refused it while this
        // one waited: a turn granted after that ends at once.
        willSendResponse: async () => {
          turn?.then((end) => end()).catch(() => undefined);
        },
      };
    },
  };
}
