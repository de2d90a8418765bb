import type { ApolloServerPlugin } from "@apollo/server";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { type DocumentNode, GraphQLError, type GraphQLSchema, validate } from "graphql";
import type { ComplexityEstimator } from "graphql-query-complexity";
import { createRequire } from "node:module";
import { defaultPageSize, type ServiceLimits } from "../settings.js";

// Required, not imported: the CommonJS build shares graphql's CommonJS copy with
// everything else, whereas the ESM build imports graphql's .mjs files, a second copy
// whose checks reject our schema's types. (Node and Vite also disagree on what a
// default import of that build is.)
const { getComplexity, simpleEstimator } = createRequire(import.meta.url)("graphql-query-complexity") as typeof import("graphql-query-complexity");

type QueryLimits = Pick<ServiceLimits, "maxQueryDepth" | "maxQueryCost" | "maxPageSize" | "maxMetricPoints">;

/**
 * A list field marked with `@Extensions({ listSize: "<argument>" })` costs its items'
 * cost times that argument, or the size the server uses when it is absent.
 */
function listEstimator(limits: QueryLimits): ComplexityEstimator {
  const sizeWhenAbsent: Record<string, number> = { first: defaultPageSize(limits), maxPoints: limits.maxMetricPoints };
  return ({ field, args, childComplexity }) => {
    const sizeArgument = field.extensions.listSize;
    if (typeof sizeArgument !== "string") return undefined;
    const size = (args[sizeArgument] as number | null | undefined) ?? sizeWhenAbsent[sizeArgument] ?? 1;
    return 1 + Math.max(1, size) * childComplexity;
  };
}

/** Finds the depth and cost errors of an operation; none when it is within the limits. */
export type OperationLimiter = (
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
) => GraphQLError[];

/** The limiter for `limits`, its validation rule and estimators made once, not per operation. */
export function operationLimiter(limits: QueryLimits): OperationLimiter {
  const depthRule = maxDepthRule({
    n: limits.maxQueryDepth,
    ignoreIntrospection: true,
    exposeLimits: true,
    // Reported as a validation error rather than thrown out of validate().
    propagateOnRejection: false,
    onReject: [
      (context, error) => {
        if (!context) throw error;
        context.reportError(error);
      },
    ],
  });
  const estimators = [listEstimator(limits), simpleEstimator({ defaultComplexity: 1 })];
  return (schema, document, variables, operationName) => {
    const tooDeep = validate(schema, document, [depthRule]);
    if (tooDeep.length > 0) {
      return tooDeep.map(
        (err) => new GraphQLError(`${err.message.replace(/^Syntax Error: /, "")} (MAX_QUERY_DEPTH)`, { extensions: { code: "QUERY_TOO_DEEP" } }),
      );
    }
    let cost: number;
    try {
      cost = getComplexity({ schema, query: document, variables, operationName, estimators });
    } catch (err) {
      // Variables that do not fit the operation: execution reports them precisely.
      if (err instanceof GraphQLError) return [];
      throw err;
    }
    if (cost <= limits.maxQueryCost) return [];
    return [
      new GraphQLError(
        `operation cost ${cost} exceeds the limit of ${limits.maxQueryCost} (MAX_QUERY_COST): ask for fewer runs, metric points or fields`,
        { extensions: { code: "QUERY_TOO_COSTLY", cost, limit: limits.maxQueryCost } },
      ),
    ];
  };
}

/** Applies the limits to every HTTP operation once it is parsed and validated. */
export function operationLimits(limits: QueryLimits): ApolloServerPlugin {
  const limitErrors = operationLimiter(limits);
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ schema, document, request }) => {
        const [error] = limitErrors(schema, document, request.variables, request.operationName);
        if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
      },
    }),
  };
}
