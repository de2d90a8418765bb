import type { RequestHandler } from "express";
import { GraphQLError, Lexer, Source, TokenKind } from "graphql";
import type { ServiceLimits } from "../settings.js";

/**
 * graphql-js parses, validates and reads values recursively: a list or object nested
 * some 2,000 deep ends in "Maximum call stack size exceeded". Nothing this schema
 * accepts nests near this (selections stop at MAX_QUERY_DEPTH, inputs at 3 levels).
 */
export const MAX_NESTING = 200;

const OPENING: ReadonlySet<TokenKind> = new Set([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING: ReadonlySet<TokenKind> = new Set([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * Why a GraphQL document is too large to parse at all: more than MAX_QUERY_TOKENS tokens
 * (every field, alias and argument is at least one, so this also bounds how many there
 * are), or brackets nested deeper than MAX_NESTING. One pass of the lexer, which stops
 * at the first token past either; a document the lexer rejects is the parser's to report.
 */
export function sourceLimitError(query: string, limits: Pick<ServiceLimits, "maxQueryTokens">): GraphQLError | undefined {
  const lexer = new Lexer(new Source(query));
  let nesting = 0;
  try {
    for (let tokens = 0; ; tokens++) {
      const { kind } = lexer.advance();
      if (kind === TokenKind.EOF) return undefined;
      if (tokens >= limits.maxQueryTokens) {
        return new GraphQLError(`the document has more than ${limits.maxQueryTokens} tokens (MAX_QUERY_TOKENS)`, { extensions: { code: "TOO_MANY_TOKENS" } });
      }
      if (OPENING.has(kind) && ++nesting > MAX_NESTING) {
        return new GraphQLError(`the document nests brackets more than ${MAX_NESTING} deep`, { extensions: { code: "QUERY_TOO_DEEP" } });
      }
      if (CLOSING.has(kind)) nesting--;
    }
  } catch (err) {
    if (err instanceof GraphQLError) return undefined;
    throw err;
  }
}

/**
 * Refuses, before Apollo parses it, an HTTP request's document that sourceLimitError
 * finds too large (a POST body's `query`, or a GET's), answering 400 like Apollo does.
 */
export function refuseOversizedDocuments(limits: Pick<ServiceLimits, "maxQueryTokens">): RequestHandler {
  return (req, res, next) => {
    const query: unknown = req.method === "GET" ? req.query.query : (req.body as { query?: unknown } | undefined)?.query;
    const error = typeof query === "string" ? sourceLimitError(query, limits) : undefined;
    if (!error) return next();
    res.status(400).json({ errors: [error.toJSON()] });
  };
}
