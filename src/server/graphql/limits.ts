import type { ApolloServerPlugin } from "@apollo/server";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { type DocumentNode, GraphQLError, type GraphQLSchema, validate } from "graphql";
// The CommonJS build shares graphql's CommonJS copy with everything else; the ESM build
// imports graphql's .mjs files, a second copy whose checks reject our schema's types.
// Node finds no named exports in that build, hence the default import.
import queryComplexity, { type ComplexityEstimator } from "graphql-query-complexity/cjs";
import type { ServiceLimits } from "../settings.js";

const { getComplexity, simpleEstimator } = queryComplexity;

type QueryLimits = Pick<ServiceLimits, "maxQueryDepth" | "maxQueryCost" | "maxMetricPoints">;

/**
 * A list field marked with `@Extensions({ listSize: "<argument>" })` costs its items'
 * cost times that argument (with the page and point limits as the worst case).
 */
function listEstimator(limits: QueryLimits): ComplexityEstimator {
  return ({ field, args, childComplexity }) => {
    const sizeArgument = field.extensions.listSize;
    if (typeof sizeArgument !== "string") return undefined;
    const size = args[sizeArgument] as number | null | undefined;
    return 1 + Math.max(1, size ?? limits.maxMetricPoints) * childComplexity;
  };
}

/** The depth and cost errors of an operation; empty when it is within the limits. */
export function limitErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  const tooDeep = validate(schema, document, [maxDepthRule({ n: limits.maxQueryDepth, ignoreIntrospection: true, exposeLimits: true })]);
  if (tooDeep.length > 0) {
    return tooDeep.map(
      (err) => new GraphQLError(`${err.message.replace(/^Syntax Error: /, "")} (MAX_QUERY_DEPTH)`, { extensions: { code: "QUERY_TOO_DEEP" } }),
    );
  }
  let cost: number;
  try {
    cost = getComplexity({
      schema,
      query: document,
      variables,
      operationName,
      estimators: [listEstimator(limits), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch {
    // Variables that do not fit the operation: execution reports them precisely.
    return [];
  }
  if (cost <= limits.maxQueryCost) return [];
  return [
    new GraphQLError(
      `operation cost ${cost} exceeds the limit of ${limits.maxQueryCost} (MAX_QUERY_COST): ask for fewer runs, metric points or fields`,
      { extensions: { code: "QUERY_TOO_COSTLY", cost, limit: limits.maxQueryCost } },
    ),
  ];
}

/** Applies the limits to every HTTP operation once it is parsed and validated. */
export function operationLimits(limits: QueryLimits): ApolloServerPlugin {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ schema, document, request }) => {
        const [error] = limitErrors(schema, document, request.variables, request.operationName, limits);
        if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
      },
    }),
  };
}
