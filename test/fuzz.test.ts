// Fuzzing the GraphQL API with malformed requests, over HTTP and over WebSocket. Every
// request must be refused with GraphQL errors (or, for a broken protocol message, a 4xxx
// close), the server must keep answering, and nothing stored may change.
import fc from "fast-check";
import { parse } from "graphql";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Store } from "../src/server/store/store.js";
import { TINY_RUN } from "./helpers.js";
import { waitForStatus } from "./process-helpers.js";
import { startTestServer, type TestServer } from "./server-helpers.js";

/** Fixed, so a failure reproduces; the cases differ only when someone changes it. */
const SEED = 20_250_611;
/** Where the server's code lives: no error message may reveal it. */
const SOURCE_ROOT = fileURLToPath(new URL("..", import.meta.url));
/** A hang is a failure, not something to wait out. */
const ANSWER_TIMEOUT_MS = 10_000;

/** The tiny run every case may name, as GraphQL input fields and as JSON. */
const TINY_JSON = { ...TINY_RUN, iterations: 2 };
const TINY_FIELDS = Object.fromEntries(Object.entries(TINY_JSON).map(([field, value]) => [field, String(value)]));
const INT_INPUTS = ["imageSize", "channels", "nz", "ngf", "ndf", "batchSize", "epochs", "iterations", "seed", "sampleEvery", "checkpointEvery"];

interface Ids {
  runId: string;
  checkpointId: string;
}

// ---- malformed GraphQL: every document and every variables object here is refused
// before or while resolving, and none can change anything. Mutations are malformed by
// construction (a wrong type, an unknown field, a syntax error), never merely refused.

/** GraphQL literals no Int argument accepts (null aside: nullable arguments take it). */
const badIntLiteral = fc.oneof(
  fc.constantFrom('"16"', '"NaN"', '"Infinity"', "NaN", "Infinity", "1e308", "-1e308", String(2 ** 53), "2147483648", "-2147483649", `1${"0".repeat(400)}`, "1.5", "true", "CPU", "{ value: 1 }", "[1, 2]", "$undefined"),
  fc.tuple(fc.constantFrom("", "-"), fc.bigInt({ min: 2n ** 31n + 1n, max: 2n ** 128n })).map(([sign, n]) => `${sign}${n}`),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter(notInt32).map(String),
  fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)),
);
/** ID accepts strings and integers; nothing else. */
const badIdLiteral = fc.oneof(
  fc.constantFrom("1.5", "1e308", "-1e308", "true", "false", "NaN", "CPU", '{ id: "x" }', '["x"]', "[]", "$undefined"),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)).map(String),
);
const badFloatLiteral = fc.constantFrom('"0.1"', '"NaN"', '"1e308"', "NaN", "Infinity", "true", "CPU", "{ v: 0.1 }", "[0.1]");
/** Enum values are upper case; a lower-case name is none of them. */
const badEnumLiteral = fc.oneof(
  fc.constantFrom('"CPU"', '"COMPLETED"', "1", "1.5", "{ kind: CPU }", "[CPU]"),
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/).filter((name) => !["true", "false", "null"].includes(name)),
);
const badStringLiteral = fc.constantFrom("1", "-1e308", "true", "CPU", "{ s: 1 }", '["x"]', "NaN");
/** Names the schema does not have. */
const unknownName = fc.stringMatching(/^[A-Za-z0-9_]{1,24}$/).map((name) => `x_${name}`);

function notInt32(d: number): boolean {
  return !Number.isInteger(d) || Math.abs(d) >= 2 ** 31;
}

/** StartRunInput fields as a GraphQL object literal, with `overrides` replacing or adding fields. */
function inputLiteral(overrides: Record<string, string>): string {
  return `{ ${Object.entries({ ...TINY_FIELDS, ...overrides })
    .map(([field, value]) => `${field}: ${value}`)
    .join(", ")} }`;
}

/** Documents with an argument of the wrong type, over every argument the schema has. */
function wrongArguments({ runId, checkpointId }: Ids): fc.Arbitrary<string> {
  const run = JSON.stringify(runId);
  const checkpoint = JSON.stringify(checkpointId);
  return fc.oneof(
    badIntLiteral.map((v) => `{ runs(first: ${v}) { nodes { id } } }`),
    badEnumLiteral.map((v) => `{ runs(status: ${v}) { nodes { id } } }`),
    badStringLiteral.map((v) => `{ runs(after: ${v}) { nodes { id } } }`),
    badIdLiteral.map((v) => `{ run(id: ${v}) { id } }`),
    fc.tuple(fc.constantFrom("from", "to", "maxPoints"), badIntLiteral).map(([arg, v]) => `{ run(id: ${run}) { metrics(${arg}: ${v}) { iteration } } }`),
    badIdLiteral.map((v) => `mutation { deleteRun(id: ${v}) }`),
    badIdLiteral.map((v) => `mutation { stopRun(id: ${v}) { id status } }`),
    badIdLiteral.map((v) => `mutation { resumeRun(id: ${run}, checkpointId: ${v}) { id } }`),
    badIdLiteral.map((v) => `mutation { resumeRun(id: ${v}) { id } }`),
    fc.tuple(fc.constantFrom("count", "seed"), badIntLiteral).map(([arg, v]) => `mutation { generate(checkpointId: ${checkpoint}, ${arg}: ${v}) { id } }`),
    badIdLiteral.map((v) => `mutation { generate(checkpointId: ${v}) { id } }`),
    fc.tuple(fc.constantFrom(...INT_INPUTS), badIntLiteral).map(([field, v]) => `mutation { startRun(input: ${inputLiteral({ [field]: v })}) { id } }`),
    fc.tuple(fc.constantFrom("lr", "beta1"), badFloatLiteral).map(([field, v]) => `mutation { startRun(input: ${inputLiteral({ [field]: v })}) { id } }`),
    badEnumLiteral.map((v) => `mutation { startRun(input: ${inputLiteral({ backend: v })}) { id } }`),
    badStringLiteral.map((v) => `mutation { startRun(input: ${inputLiteral({ name: v })}) { id } }`),
    badEnumLiteral.map((v) => `mutation { startRun(input: ${inputLiteral({ dataset: `{ kind: ${v} }` })}) { id } }`),
    fc.constantFrom('"SYNTHETIC"', "SYNTHETIC", "1", "true", "[]", "[{ kind: SYNTHETIC }]", "{ kind: SYNTHETIC, path: 1 }", "{ kind: SYNTHETIC, path: { p: 1 } }").map(
      (v) => `mutation { startRun(input: ${inputLiteral({ dataset: v })}) { id } }`,
    ),
    fc.constantFrom('"input"', "42", "true", "[]", `[${inputLiteral({})}]`, "CPU", "null").map((v) => `mutation { startRun(input: ${v}) { id } }`),
    // null where the argument is non-null
    fc.constantFrom(
      "mutation { deleteRun(id: null) }",
      "mutation { stopRun(id: null) { id } }",
      `mutation { generate(checkpointId: ${checkpoint}, count: null) { id } }`,
      "{ runs(first: null) { nodes { id } } }",
      "{ run(id: null) { id } }",
      "subscription { runProgress(runId: null) { iteration } }",
    ),
    // missing and repeated arguments
    fc.constantFrom(
      "mutation { deleteRun }",
      "mutation { stopRun { id } }",
      "mutation { startRun { id } }",
      "mutation { generate(count: 4) { id } }",
      `mutation { deleteRun(id: ${run}, id: ${run}) }`,
      `mutation { startRun(input: ${inputLiteral({})}, input: ${inputLiteral({})}) { id } }`,
      `mutation { startRun(input: { imageSize: 16, imageSize: 16, iterations: 2 }) { id } }`,
      "{ run { id } }",
    ),
  );
}

/** Well-typed queries whose values the resolvers refuse: read-only, so any value is safe. */
function refusedQueries({ runId }: Ids): fc.Arbitrary<string> {
  const run = JSON.stringify(runId);
  const cursor = (text: string) => JSON.stringify(Buffer.from(text).toString("base64url"));
  return fc.oneof(
    fc.oneof(fc.integer({ min: -(2 ** 31), max: 0 }), fc.integer({ min: 101, max: 2 ** 31 - 1 })).map((n) => `{ runs(first: ${n}) { nodes { id } } }`),
    fc.oneof(fc.integer({ min: -(2 ** 31), max: 1 }), fc.integer({ min: 10_001, max: 2 ** 31 - 1 })).map((n) => `{ run(id: ${run}) { metrics(maxPoints: ${n}) { iteration } } }`),
    fc
      .constantFrom("", "garbage", "[]", "{}", '["x","y"]', `[1e308,${run}]`, `[-1e308,${run}]`, `[1,2,3]`, "[".repeat(10_000), "null")
      .map((text) => `{ runs(after: ${cursor(text)}) { nodes { id } } }`),
    fc.string({ maxLength: 40 }).map((text) => `{ runs(after: ${cursor(`[${JSON.stringify(text)}]`)}) { nodes { id } } }`),
    fc.constantFrom(
      `{ runs(first: 0) { nodes { id } } }`,
      `{ runs(first: 2147483647) { nodes { id } } }`,
      `{ runs(first: -2147483648) { nodes { id } } }`,
      `{ run(id: ${run}) { metrics(from: -2147483648, to: 2147483647, maxPoints: 2147483647) { iteration } } }`,
    ),
  );
}

/** Documents naming fields, arguments or types the schema does not have. */
function unknownFields({ runId }: Ids): fc.Arbitrary<string> {
  const run = JSON.stringify(runId);
  return fc.oneof(
    unknownName.map((name) => `{ ${name} }`),
    unknownName.map((name) => `{ runs { nodes { id ${name} } } }`),
    unknownName.map((name) => `{ system { ${name} } }`),
    unknownName.map((name) => `{ run(id: ${run}) { config { dataset { ${name} } } } }`),
    unknownName.map((name) => `{ runs(${name}: 1) { nodes { id } } }`),
    unknownName.map((name) => `mutation { ${name} }`),
    unknownName.map((name) => `mutation { deleteRun(id: ${run}, ${name}: 1) }`),
    unknownName.map((name) => `mutation { stopRun(id: ${run}) { id ${name} } }`),
    unknownName.map((name) => `mutation { startRun(input: ${inputLiteral({ [name]: "1" })}) { id } }`),
    unknownName.map((name) => `mutation { startRun(input: ${inputLiteral({})}) { id config { ${name} } } }`),
    unknownName.map((name) => `mutation ($input: ${name}!) { startRun(input: $input) { id } }`),
    unknownName.map((name) => `subscription { ${name} }`),
    unknownName.map((name) => `subscription { runUpdated(runId: ${run}) { ${name} } }`),
    unknownName.map((name) => `{ ...${name} }`),
    unknownName.map((name) => `fragment F on ${name} { id } { ...F }`),
    unknownName.map((name) => `{ runs { nodes { id @${name} } } }`),
  );
}

/** Valid documents (some of them real mutations) cut short, and text that does not parse. */
function brokenSyntax(ids: Ids): fc.Arbitrary<string> {
  const run = JSON.stringify(ids.runId);
  const whole = fc.constantFrom(
    `mutation { deleteRun(id: ${run}) }`,
    `mutation { stopRun(id: ${run}) { id } }`,
    `mutation { resumeRun(id: ${run}) { id } }`,
    `mutation { startRun(input: ${inputLiteral({})}) { id } }`,
    `mutation { generate(checkpointId: ${JSON.stringify(ids.checkpointId)}, count: 4) { id } }`,
    `{ runs(first: 5) { nodes { id status config { dataset { kind } } } } }`,
    `subscription { runProgress(runId: ${run}, after: 0) { iteration } }`,
  );
  return fc.oneof(
    // A balanced document ending in "}" cut anywhere before that "}" never parses.
    fc.tuple(whole, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })).map(([doc, at]) => doc.slice(0, Math.floor(at * (doc.length - 1)))),
    // Queries are read-only: stray punctuation anywhere is safe there.
    fc.tuple(fc.constantFrom(`{ runs(first: 5) { nodes { id status } } }`, `{ run(id: ${run}) { id } }`), fc.nat(), fc.constantFrom("{", "}", "(", ")", "[", "]", ":", "$", "!", "@", '"', "...", "&", "=", "#\n", "\u0000", "\uD800"))
      .map(([doc, at, junk]) => doc.slice(0, at % doc.length) + junk + doc.slice(at % doc.length))
      .filter(doesNotParse),
    fc.string({ maxLength: 60 }).filter(doesNotParse),
    fc.constantFrom("", " ", "query", "mutation", "subscription", "{", "}", "{}", "{ }", "query {", "mutation { deleteRun(id: ", '"unterminated', "fragment F on Query", "{ runs(first: 5 { nodes { id } } }", "{ runs(first: -) { nodes { id } } }", "{ runs(first: 0x10) { nodes { id } } }", "{ runs(first: 1_000) { nodes { id } } }", "{ runs(first: .5) { nodes { id } } }", "{ run(id: 'x') { id } }"),
  );
}

function doesNotParse(text: string): boolean {
  try {
    parse(text);
    return false;
  } catch {
    return true;
  }
}

/** Nesting far deeper than any real document, and lists and strings far longer. */
function deepAndHuge({ runId }: Ids): string[] {
  const run = JSON.stringify(runId);
  const nested = (depth: number, open: string, inner: string, close: string) => open.repeat(depth) + inner + close.repeat(depth);
  const aliases = (count: number, field: string) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(" ")} }`;
  return [
    nested(200, "{ a ", "b", " }"),
    nested(2_000, "{ a ", "b", " }"),
    nested(20_000, "{a", "b", "}"),
    `{ runs { nodes { config { dataset { ${nested(200, "kind { ", "kind", " }")} } } } } }`,
    `{ runs(first: ${nested(1_000, "[", "1", "]")}) { nodes { id } } }`,
    `{ run(id: ${nested(1_000, "{ a: ", "1", " }")}) { id } }`,
    `mutation { startRun(input: ${inputLiteral({ name: nested(500, "{ n: ", '"x"', " }") })}) { id } }`,
    // fragment cycle, and a chain of 500 spreads ending in an unknown field
    "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    `{ ...F0 } ${Array.from({ length: 500 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} }`).join(" ")} fragment F500 on Query { x_unknown }`,
    aliases(10_000, "x_unknown"),
    aliases(2_000, "runs(first: 0) { nodes { id } }"),
    aliases(1_000, `run(id: ${run}) { metrics(maxPoints: 1) { iteration } }`),
    `{ runs(first: [${Array.from({ length: 10_000 }, (_, i) => i).join(",")}]) { nodes { id } } }`,
    `{ runs(after: ${JSON.stringify("x".repeat(500_000))}) { nodes { id } } }`,
    `{ run(id: ${run}) { ${"id ".repeat(50_000)} x_unknown } }`,
    `query ($v: Int) { runs(first: $v, ${Array.from({ length: 2_000 }, (_, i) => `a${i}: 1`).join(", ")}) { nodes { id } } }`,
    Array.from({ length: 2_000 }, (_, i) => `query Q${i} { runs(first: 0) { nodes { id } } }`).join(" "),
  ];
}

interface Operation {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

/** JSON values no Int variable accepts (null aside). */
const badIntJson = fc.oneof(
  fc.constantFrom<unknown>("16", "NaN", "Infinity", "-Infinity", "", 1.5, 1e308, -1e308, 2 ** 53, 2 ** 31, -(2 ** 31) - 1, Number.MAX_VALUE, Number.MIN_VALUE, true, false, {}, [], [16], { value: 16 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter(notInt32),
  fc.string({ maxLength: 30 }),
  fc.array(fc.integer(), { minLength: 1, maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);
/** ID variables take strings and integers; nothing else. */
const badIdJson = fc.oneof(
  fc.constantFrom<unknown>(true, false, 1.5, -0.5, Number.MIN_VALUE, {}, [], ["x"], [1], { id: "x" }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);
const badEnumJson = fc.oneof(
  fc.constantFrom<unknown>("cpu", "Cpu", " CPU", "CPU ", "", "NOPE", "0", 0, 1.5, true, {}, [], ["CPU"], { CPU: true }),
  fc.string({ maxLength: 12 }).filter((s) => !/^[A-Z_]+$/.test(s)),
);

/** Operations whose variables have the wrong types, unknown keys or are missing. */
function wrongVariables({ runId, checkpointId }: Ids): fc.Arbitrary<Operation> {
  const startRun = "mutation ($input: StartRunInput!) { startRun(input: $input) { id } }";
  return fc.oneof(
    badIntJson.map((first) => ({ query: "query ($first: Int!) { runs(first: $first) { nodes { id } } }", variables: { first } })),
    badIntJson.map((maxPoints) => ({ query: "query ($id: ID!, $n: Int) { run(id: $id) { metrics(maxPoints: $n) { iteration } } }", variables: { id: runId, n: maxPoints } })),
    badEnumJson.map((status) => ({ query: "query ($status: RunStatus) { runs(status: $status) { nodes { id } } }", variables: { status } })),
    badIdJson.map((id) => ({ query: "query ($id: ID!) { run(id: $id) { id } }", variables: { id } })),
    badIdJson.map((id) => ({ query: "mutation ($id: ID!) { deleteRun(id: $id) }", variables: { id } })),
    badIdJson.map((id) => ({ query: "mutation ($id: ID!) { stopRun(id: $id) { id } }", variables: { id } })),
    badIdJson.map((c) => ({ query: "mutation ($id: ID!, $c: ID) { resumeRun(id: $id, checkpointId: $c) { id } }", variables: { id: runId, c } })),
    badIntJson.map((count) => ({ query: "mutation ($c: ID!, $n: Int!) { generate(checkpointId: $c, count: $n) { id } }", variables: { c: checkpointId, n: count } })),
    fc.tuple(fc.constantFrom(...INT_INPUTS), badIntJson).map(([field, v]) => ({ query: startRun, variables: { input: { ...TINY_JSON, [field]: v } } })),
    fc
      .tuple(fc.constantFrom("lr", "beta1"), fc.constantFrom<unknown>("0.1", "NaN", "Infinity", true, {}, [0.1], ""))
      .map(([field, v]) => ({ query: startRun, variables: { input: { ...TINY_JSON, [field]: v } } })),
    badEnumJson.map((backend) => ({ query: startRun, variables: { input: { ...TINY_JSON, backend } } })),
    fc
      .constantFrom<unknown>("SYNTHETIC", 1, true, [], [{ kind: "SYNTHETIC" }], { kind: "synthetic" }, { kind: 1 }, { kind: "SYNTHETIC", path: {} }, { kind: "SYNTHETIC", x_extra: 1 })
      .map((dataset) => ({ query: startRun, variables: { input: { ...TINY_JSON, dataset } } })),
    fc.tuple(unknownName, fc.jsonValue({ maxDepth: 2 })).map(([key, v]) => ({ query: startRun, variables: { input: { ...TINY_JSON, [key]: v } } })),
    fc.constantFrom<unknown>("input", 42, true, null, [], [TINY_JSON], "{}").map((input) => ({ query: startRun, variables: { input } })),
    // unknown keys and missing ones: the declared variable is absent
    fc.dictionary(unknownName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }).map((variables) => ({ query: startRun, variables })),
    fc.dictionary(unknownName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }).map((variables) => ({ query: "mutation ($id: ID!) { deleteRun(id: $id) }", variables })),
    // a variable used where its type does not fit
    fc.constantFrom(
      { query: "mutation ($id: String!) { deleteRun(id: $id) }", variables: { id: runId } },
      { query: "mutation ($id: ID) { deleteRun(id: $id) }", variables: { id: runId } },
      { query: "mutation ($input: String!) { startRun(input: $input) { id } }", variables: { input: "{}" } },
      { query: "mutation ($n: Float!) { generate(checkpointId: \"x\", count: $n) { id } }", variables: { n: 4 } },
      { query: "mutation { deleteRun(id: $id) }", variables: { id: runId } },
      { query: "query ($first: Int!) { runs(first: 5) { nodes { id } } }", variables: { first: 5 } },
      { query: "query ($a: Int!, $a: Int!) { runs(first: $a) { nodes { id } } }", variables: { a: 5 } },
    ),
    // operationName naming nothing, or nothing where several operations need it
    fc.constantFrom<Operation>(
      { query: "query A { runs(first: 1) { nodes { id } } }", operationName: "B" },
      { query: "query A { runs(first: 1) { nodes { id } } } query B { system { version } }" },
      { query: "{ runs(first: 1) { nodes { id } } } { system { version } }" },
      { query: `mutation A { deleteRun(id: ${JSON.stringify(runId)}) } query B { system { version } }`, operationName: "C" },
    ),
    // huge variables
    fc.constantFrom<Operation>(
      { query: "query ($first: Int!) { runs(first: $first) { nodes { id } } }", variables: { first: Array.from({ length: 100_000 }, () => 1) } },
      { query: "mutation ($id: ID!) { deleteRun(id: $id) }", variables: { id: Array.from({ length: 100_000 }, () => "x") } },
      { query: "query ($id: ID!) { run(id: $id) { id } }", variables: { id: deepObject(1_000) } },
      { query: "mutation ($input: StartRunInput!) { startRun(input: $input) { id } }", variables: { input: { ...TINY_JSON, dataset: deepObject(1_000) } } },
    ),
  );
}

function deepObject(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** The malformed operations both channels get, as generated from SEED. */
function malformedOperations(ids: Ids, counts: { wrongArguments: number; refused: number; unknown: number; broken: number; variables: number }): Operation[] {
  const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, salt: number) => fc.sample(arbitrary, { seed: SEED + salt, numRuns });
  return [
    ...sample(wrongArguments(ids), counts.wrongArguments, 1).map((query) => ({ query })),
    ...sample(refusedQueries(ids), counts.refused, 2).map((query) => ({ query })),
    ...sample(unknownFields(ids), counts.unknown, 3).map((query) => ({ query })),
    ...sample(brokenSyntax(ids), counts.broken, 4).map((query) => ({ query })),
    ...deepAndHuge(ids).map((query) => ({ query })),
    ...sample(wrongVariables(ids), counts.variables, 5),
  ];
}

// ---- HTTP

interface HttpCase {
  label: string;
  method?: string;
  /** Added to the URL (GET) */
  search?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

const JSON_TYPE = { "content-type": "application/json" };
/** Lets a GET through Apollo's CSRF prevention to the GraphQL layer. */
const PREFLIGHTED = { "apollo-require-preflight": "true" };

function post(label: string, body: string, headers: Record<string, string> = JSON_TYPE): HttpCase {
  return { label, method: "POST", headers, body };
}

/** Bodies, methods and content types that are wrong before GraphQL even starts. */
function brokenHttpRequests(ids: Ids): HttpCase[] {
  const valid = JSON.stringify({ query: `{ runs(first: 1) { nodes { id } } }` });
  const mutation = JSON.stringify({ query: `mutation { deleteRun(id: ${JSON.stringify(ids.runId)}) }` });
  const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, salt: number) => fc.sample(arbitrary, { seed: SEED + 100 + salt, numRuns });
  const brokenJson = [
    ...["", "{", "}", "{]", "{'query': '{ system { version } }'}", '{"query": "{ system { version } }",}', '{"query": NaN}', '{"query": Infinity}', '{"query": undefined}', "{query: 1}", '{"query": "{ runs { nodes { id } } }"', `${valid}garbage`, `${valid}${valid}`, "\uFEFF{}", "[".repeat(100_000), `{"a":${"[".repeat(50_000)}`],
    ...sample(fc.tuple(fc.constantFrom(valid, mutation), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })).map(([text, at]) => text.slice(0, Math.floor(at * (text.length - 1)))), 10, 1),
    ...sample(fc.string({ maxLength: 40 }).filter((text) => !isJson(text)), 10, 2),
  ].map((text) => post(`broken JSON ${preview(text)}`, text));
  const notAnObject = sample(fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })), 15, 3)
    .concat([[{ query: "{ runs(first: 1) { nodes { id } } }" }, { query: "{ system { version } }" }]])
    .map((value) => post(`JSON that is not an object: ${preview(JSON.stringify(value))}`, JSON.stringify(value)));
  const queryNotAString = sample(
    fc.oneof(
      fc.record({ query: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.boolean(), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })) }),
      fc.record({ query: fc.constant("{ runs(first: 1) { nodes { id } } }"), variables: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer(), { maxLength: 3 }), fc.boolean()) }),
      fc.record({ query: fc.constant("{ runs(first: 1) { nodes { id } } }"), operationName: fc.oneof(fc.integer(), fc.boolean(), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })) }),
      fc.record({ query: fc.constant("{ runs(first: 1) { nodes { id } } }"), extensions: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer(), { maxLength: 2 })) }),
      fc.record({ notQuery: fc.string() }),
      fc.constant({}),
      fc.constant({ query: "" }),
    ),
    20,
    4,
  ).map((body) => post(`bad request fields ${preview(JSON.stringify(body))}`, JSON.stringify(body)));
  const get = (query: string, headers: Record<string, string> = PREFLIGHTED, extra = "") => ({
    label: `GET ${preview(query)}${extra}`,
    method: "GET",
    search: `?query=${encodeURIComponent(query)}${extra}`,
    headers,
  });
  const gets: HttpCase[] = [
    get("{ runs(first: 1) { nodes { id } } }", {}),
    get(`mutation { deleteRun(id: ${JSON.stringify(ids.runId)}) }`, {}),
    get('mutation { stopRun(id: "nope") { id } }'),
    get('mutation { deleteRun(id: "nope") }'),
    get("{ runs(first: 1) { nodes { id } } }", PREFLIGHTED, "&variables=not-json"),
    get("{ runs(first: 1) { nodes { id } } }", PREFLIGHTED, "&variables=%5B1%5D"),
    get("{ runs(first: 1) { nodes { id } } }", PREFLIGHTED, "&extensions=%7B"),
    get("query ($f: Int!) { runs(first: $f) { nodes { id } } }", PREFLIGHTED, `&variables=${encodeURIComponent('{"f":"NaN"}')}`),
    get("query ($f: Int!) { runs(first: $f) { nodes { id } } }", PREFLIGHTED, `&variables=${encodeURIComponent('{"f":1e400}')}`),
    { label: "GET without a query", method: "GET", headers: PREFLIGHTED },
    ...sample(fc.oneof(wrongArguments(ids), unknownFields(ids), brokenSyntax(ids)), 15, 5).map((query) => get(query)),
  ];
  const contentTypes: HttpCase[] = [
    ...["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/graphql", "application/graphql-response+json", "application/vnd.api+json", "application/json; charset=latin1", "application/json; charset=utf-16", "application/jsonx", "*/*"].map((type) =>
      post(`content-type ${type}`, mutation, { "content-type": type }),
    ),
    { label: "no content-type", method: "POST", body: new TextEncoder().encode(mutation) },
    post("gzip that is not gzip", valid, { ...JSON_TYPE, "content-encoding": "gzip" }),
    post("unknown content-encoding", valid, { ...JSON_TYPE, "content-encoding": "x-unknown" }),
    post("form-encoded body as JSON", `query=${encodeURIComponent("{ system { version } }")}`),
  ];
  const methods = ["PUT", "DELETE", "PATCH"].map((method) => ({ label: method, method, headers: JSON_TYPE, body: mutation }));
  const oversized = [
    post("body over the 1 MB limit", JSON.stringify({ query: `{ runs(after: ${JSON.stringify("x".repeat(1_200_000))}) { nodes { id } } }` })),
    post("variables over the 1 MB limit", JSON.stringify({ query: "mutation ($id: ID!) { deleteRun(id: $id) }", variables: { id: "x".repeat(2_000_000) } })),
  ];
  return [...brokenJson, ...notAnObject, ...queryNotAString, ...gets, ...contentTypes, ...methods, ...oversized];
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function preview(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}… (${text.length} chars)` : text);
}

interface Reply {
  status: number;
  text: string;
}

async function send(url: string, c: HttpCase): Promise<Reply> {
  const res = await fetch(url + (c.search ?? ""), { method: c.method ?? "POST", headers: c.headers, body: c.body });
  return { status: res.status, text: await res.text() };
}

interface GraphQLErrorLike {
  message?: unknown;
  extensions?: { code?: unknown; stacktrace?: unknown };
}

/** What is wrong with a reply to a malformed request, if anything. */
function httpProblem(reply: Reply): string | undefined {
  let body: { data?: unknown; errors?: GraphQLErrorLike[] } | undefined;
  try {
    body = JSON.parse(reply.text) as typeof body;
  } catch {
    return `${reply.status} with a body that is not JSON: ${preview(reply.text)}`;
  }
  const errors = body?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return `${reply.status} without GraphQL errors: ${preview(reply.text)}`;
  if (!errors.every((e) => typeof e?.message === "string")) return `${reply.status} with malformed errors: ${preview(reply.text)}`;
  if (reply.status >= 500) return `${reply.status}: ${preview(reply.text)}`;
  if (errors.some((e) => e.extensions?.stacktrace !== undefined)) return `${reply.status} with a stack trace`;
  if (errors.some((e) => e.extensions?.code === "INTERNAL_SERVER_ERROR")) return `${reply.status} INTERNAL_SERVER_ERROR: ${preview(reply.text)}`;
  if (reply.text.includes(SOURCE_ROOT)) return `${reply.status} naming the server's source files: ${preview(reply.text)}`;
  return undefined;
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

// ---- WebSocket (graphql-transport-ws over raw sockets)

interface WsMessage {
  type?: unknown;
  id?: unknown;
  payload?: unknown;
}

/** A well-formed `subscribe` message carrying a malformed operation: the server must answer it with GraphQL errors. */
interface SubscribeCase {
  label: string;
  payload: Operation;
}

/** A frame that breaks the protocol: the server must close the socket with a 4xxx code. */
interface FrameCase {
  label: string;
  frame: string | Buffer;
  /** Sent on a fresh socket without connection_init (else after the ack) */
  beforeInit?: boolean;
}

/** A protocol violation that is no frame: a wrong subprotocol. */
interface ProtocolCase {
  label: string;
  protocol: string | string[];
}

/** A raw socket that records what the server sends and how it closes. */
class RawSocket {
  readonly received: WsMessage[] = [];
  closeCode?: number;
  private readonly changed = new Set<() => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      this.received.push(parseMessage(String(data)));
      this.notify();
    });
    socket.on("close", (code) => {
      this.closeCode = code;
      this.notify();
    });
    // A broken frame from the server shows as its close code (1002, 1006...), not as an unhandled error.
    socket.on("error", () => undefined);
  }

  static async open(url: string, protocol: string | string[] = "graphql-transport-ws"): Promise<RawSocket> {
    const socket = new WebSocket(url, protocol);
    const raw = new RawSocket(socket);
    await once(socket, "open");
    return raw;
  }

  send(frame: string | Buffer): void {
    this.socket.send(frame);
  }

  /** Resolves once `done()` holds or the socket has closed. */
  settle(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done() && this.closeCode === undefined) return;
        this.changed.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changed.delete(check);
        reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms: ${what}`));
      }, ANSWER_TIMEOUT_MS);
      this.changed.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    if (this.closeCode !== undefined) return;
    this.socket.close(1000);
    await this.settle(() => false, "client close");
  }

  private notify(): void {
    for (const check of [...this.changed]) check();
  }
}

function parseMessage(text: string): WsMessage {
  try {
    const message = JSON.parse(text) as unknown;
    return typeof message === "object" && message !== null ? message : { type: `<not an object: ${preview(text)}>` };
  } catch {
    return { type: `<not JSON: ${preview(text)}>` };
  }
}

/** Closes for a client's fault (graphql-ws's 4400 Bad Request, 4401, 4403, 4406, 4409, 4429...); 4500 is the server's. */
function isClientErrorClose(code: number | undefined): boolean {
  return code !== undefined && code >= 4000 && code < 4500;
}

function isGraphQLErrors(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 && value.every((e: GraphQLErrorLike) => typeof e?.message === "string" && e.extensions?.stacktrace === undefined);
}

/** What is wrong with the server's answer to subscription `id`, if anything. */
function subscribeProblem(socket: RawSocket, id: string): string | undefined {
  const mine = socket.received.filter((m) => m.id === id);
  const end = mine.find((m) => m.type === "error" || m.type === "complete");
  if (!end) return isClientErrorClose(socket.closeCode) ? undefined : `no answer; socket closed with ${socket.closeCode}`;
  const errors = end.type === "error" ? end.payload : mine.flatMap((m) => (m.type === "next" ? ((m.payload as { errors?: unknown[] }).errors ?? []) : []));
  if (!isGraphQLErrors(errors)) return `${end.type} without GraphQL errors: ${preview(JSON.stringify(mine))}`;
  if ((errors as GraphQLErrorLike[]).some((e) => e.extensions?.code === "INTERNAL_SERVER_ERROR")) return `INTERNAL_SERVER_ERROR: ${preview(JSON.stringify(errors))}`;
  // graphql-ws sends errors without Apollo's codes: an internal one shows by what it reveals.
  if (JSON.stringify(errors).includes(SOURCE_ROOT)) return `an error naming the server's source files: ${preview(JSON.stringify(errors))}`;
  return undefined;
}

/**
 * One connection: connection_init, then every subscribe case at once, then (once each is
 * answered) the frame that must close it. Cases left unanswered by a close are retried
 * alone, so a close is blamed on the case that caused it.
 */
async function converse(url: string, cases: SubscribeCase[], ending?: FrameCase): Promise<string[]> {
  const socket = await RawSocket.open(url);
  socket.send(JSON.stringify({ type: "connection_init" }));
  await socket.settle(() => socket.received.some((m) => m.type === "connection_ack"), "connection_ack");
  if (socket.closeCode !== undefined) return [`connection_init: closed with ${socket.closeCode} before the ack`];
  const ids = cases.map((_, i) => String(i + 1));
  cases.forEach((c, i) => socket.send(JSON.stringify({ id: ids[i], type: "subscribe", payload: c.payload })));
  const answered = (id: string) => socket.received.some((m) => m.id === id && (m.type === "error" || m.type === "complete"));
  await socket.settle(() => ids.every(answered), `subscribe cases ${cases.map((c) => c.label).join(", ")}`);

  const problems: string[] = [];
  for (const [i, c] of cases.entries()) {
    if (!answered(ids[i]!) && cases.length > 1) {
      problems.push(...(await converse(url, [c])));
    } else {
      const problem = subscribeProblem(socket, ids[i]!);
      if (problem) problems.push(`${c.label}: ${problem}`);
    }
  }
  if (ending && socket.closeCode === undefined) {
    socket.send(ending.frame);
    await socket.settle(() => false, ending.label);
    if (!isClientErrorClose(socket.closeCode)) problems.push(`${ending.label}: closed with ${socket.closeCode}, not 4xxx`);
  } else if (ending) {
    problems.push(...(await converse(url, [], ending)));
  }
  await socket.close();
  return problems;
}

async function frameAlone(url: string, c: FrameCase): Promise<string[]> {
  const socket = await RawSocket.open(url);
  socket.send(c.frame);
  await socket.settle(() => false, c.label);
  return isClientErrorClose(socket.closeCode) ? [] : [`${c.label}: closed with ${socket.closeCode}, not 4xxx`];
}

async function protocolAlone(url: string, c: ProtocolCase): Promise<string[]> {
  let socket: RawSocket;
  try {
    socket = await RawSocket.open(url, c.protocol);
  } catch (err) {
    // The server declined every subprotocol offered in the handshake: refused before any message.
    return /Server sent no subprotocol/.test(String(err)) ? [] : [`${c.label}: ${String(err)}`];
  }
  await socket.settle(() => false, c.label);
  return isClientErrorClose(socket.closeCode) ? [] : [`${c.label}: closed with ${socket.closeCode}, not 4xxx`];
}

/** Frames that break graphql-transport-ws itself. */
function brokenFrames(ids: Ids): FrameCase[] {
  const query = "{ runs(first: 1) { nodes { id } } }";
  const subscribe = (fields: Record<string, unknown>) => JSON.stringify({ type: "subscribe", ...fields });
  const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, salt: number) => fc.sample(arbitrary, { seed: SEED + 200 + salt, numRuns });
  const known = ["connection_init", "ping", "pong", "subscribe", "complete", "connection_ack", "next", "error"];
  const frames: FrameCase[] = [
    ...sample(fc.string({ maxLength: 40 }).filter((text) => !isJson(text)), 20, 1).map((text) => ({ label: `text ${preview(text)}`, frame: text })),
    ...sample(fc.uint8Array({ minLength: 1, maxLength: 64 }), 15, 2).map((bytes) => ({ label: `binary ${Buffer.from(bytes).toString("hex")}`, frame: Buffer.from(bytes) })),
    ...sample(fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)), fc.constantFrom("null", "true", "[]")).map(String), 10, 3).map((text) => ({ label: `JSON not an object ${text}`, frame: text })),
    ...sample(fc.record({ type: fc.string({ maxLength: 20 }).filter((t) => !known.includes(t)), id: fc.string({ maxLength: 5 }) }), 10, 4).map((m) => ({ label: `unknown type ${JSON.stringify(m)}`, frame: JSON.stringify(m) })),
    ...sample(fc.oneof(fc.integer(), fc.constant(null), fc.constant(""), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })), 10, 5).map((id) => ({
      label: `subscribe with id ${JSON.stringify(id)}`,
      frame: subscribe({ id, payload: { query } }),
    })),
    ...sample(fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 })), 10, 6).map((q) => ({
      label: `subscribe with query ${JSON.stringify(q)}`,
      frame: subscribe({ id: "q", payload: { query: q } }),
    })),
    ...sample(fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 })), 8, 7).map((variables) => ({
      label: `subscribe with variables ${JSON.stringify(variables)}`,
      frame: subscribe({ id: "v", payload: { query, variables } }),
    })),
    ...sample(fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })), 5, 8).map((operationName) => ({
      label: `subscribe with operationName ${JSON.stringify(operationName)}`,
      frame: subscribe({ id: "o", payload: { query, operationName } }),
    })),
    ...[undefined, null, "query", 1, [query], []].map((payload) => ({ label: `subscribe with payload ${JSON.stringify(payload)}`, frame: subscribe({ id: "p", payload }) })),
    { label: "subscribe with extensions 1", frame: subscribe({ id: "e", payload: { query, extensions: 1 } }) },
    { label: "a second connection_init", frame: JSON.stringify({ type: "connection_init" }) },
    { label: "connection_init with a string payload", frame: JSON.stringify({ type: "connection_init", payload: "x" }) },
    { label: "message without type", frame: JSON.stringify({ id: "1", payload: { query } }) },
    { label: "type 7", frame: JSON.stringify({ type: 7 }) },
    { label: "ping with payload 1", frame: JSON.stringify({ type: "ping", payload: 1 }) },
    { label: "complete without id", frame: JSON.stringify({ type: "complete" }) },
    { label: "complete with id 1", frame: JSON.stringify({ type: "complete", id: 1 }) },
    { label: "JSON with a NaN", frame: `{"type":"subscribe","id":"n","payload":{"query":"${query}","variables":{"a":NaN}}}` },
    { label: "a truncated subscribe", frame: subscribe({ id: "t", payload: { query: `mutation { deleteRun(id: ${JSON.stringify(ids.runId)}) }` } }).slice(0, -2) },
    { label: "a subscribe as binary, truncated", frame: Buffer.from(subscribe({ id: "b", payload: { query } }).slice(0, -1)) },
    // messages only a server sends
    { label: "connection_ack from the client", frame: JSON.stringify({ type: "connection_ack" }) },
    { label: "next from the client", frame: JSON.stringify({ type: "next", id: "1", payload: { data: null } }) },
    { label: "error from the client", frame: JSON.stringify({ type: "error", id: "1", payload: [{ message: "x" }] }) },
  ];
  const beforeInit: FrameCase[] = [
    { label: "subscribe before connection_init", frame: subscribe({ id: "1", payload: { query } }), beforeInit: true },
    { label: "garbage before connection_init", frame: "garbage", beforeInit: true },
    { label: "connection_init with payload []", frame: JSON.stringify({ type: "connection_init", payload: [] }), beforeInit: true },
  ];
  return [...frames, ...beforeInit];
}

async function snapshot(store: Store) {
  const { runs, hasNextPage } = await store.listRuns({ first: 100 });
  return {
    hasNextPage,
    runs: await Promise.all(
      runs.map(async (run) => ({
        run,
        metrics: await store.metrics(run.id),
        checkpoints: await store.listCheckpoints(run.id),
        samples: await store.listSamples(run.id),
      })),
    ),
  };
}

let server: TestServer;
let ids: Ids;
let before: Awaited<ReturnType<typeof snapshot>>;

beforeAll(async () => {
  server = await startTestServer();
  const started = await server.gql<{ startRun: { id: string } }>(`mutation { startRun(input: ${inputLiteral({})}) { id } }`);
  const runId = started.data!.startRun.id;
  if ((await waitForStatus(server.service.url, runId, ["COMPLETED", "FAILED"])).status === "FAILED") throw new Error("the tiny run failed");
  const checkpoints = await server.service.store.listCheckpoints(runId);
  ids = { runId, checkpointId: checkpoints.at(-1)!.id };
  before = await snapshot(server.service.store);
  expect(before.runs).toHaveLength(1);
  expect(before.runs[0]!.metrics).toHaveLength(2);
});

describe("malformed requests", () => {
  it("over HTTP are all refused with GraphQL errors and no 5xx", async () => {
    const operations = malformedOperations(ids, { wrongArguments: 80, refused: 20, unknown: 25, broken: 35, variables: 60 });
    const cases: HttpCase[] = [...operations.map((op) => post(`operation ${preview(JSON.stringify(op))}`, JSON.stringify(op))), ...brokenHttpRequests(ids)];
    expect(cases.length).toBeGreaterThanOrEqual(200);
    const problems: string[] = [];
    await pool(cases, 4, async (c) => {
      const problem = httpProblem(await send(server.service.url, c));
      if (problem) problems.push(`${c.label}: ${problem}`);
    });
    expect(problems).toEqual([]);
  });

  it("over WebSocket are all answered with GraphQL errors or a 4xxx close", async () => {
    const url = server.service.url.replace(/^http/, "ws");
    const operations = malformedOperations(ids, { wrongArguments: 60, refused: 15, unknown: 20, broken: 30, variables: 40 });
    const subscribeCases = operations.map((payload) => ({ label: `subscribe ${preview(JSON.stringify(payload))}`, payload }));
    const frames = brokenFrames(ids);
    const protocols: ProtocolCase[] = [
      { label: "no subprotocol", protocol: [] },
      { label: "the old graphql-ws subprotocol", protocol: "graphql-ws" },
      { label: "an unknown subprotocol", protocol: "graphql-transport-ws-x" },
    ];
    expect(subscribeCases.length + frames.length + protocols.length).toBeGreaterThanOrEqual(200);

    const problems: string[] = [];
    const afterInit = frames.filter((f) => !f.beforeInit);
    // Several operations per connection, then one protocol-breaking frame that ends it.
    const perConnection = Math.ceil(subscribeCases.length / afterInit.length);
    for (let i = 0; i < afterInit.length; i++) {
      problems.push(...(await converse(url, subscribeCases.slice(i * perConnection, (i + 1) * perConnection), afterInit[i])));
    }
    for (const f of frames.filter((f) => f.beforeInit)) problems.push(...(await frameAlone(url, f)));
    for (const p of protocols) problems.push(...(await protocolAlone(url, p)));
    expect(problems).toEqual([]);
  });

  it("leave the server answering and the database as it was", async () => {
    expect(await (await fetch(`${server.origin}/healthz`)).json()).toEqual({ ok: true });
    const runs = await server.gql<{ runs: { nodes: { id: string; status: string }[] } }>("{ runs(first: 5) { nodes { id status } } }");
    expect(runs).toEqual({ data: { runs: { nodes: [{ id: ids.runId, status: "COMPLETED" }] } } });
    // WebSocket still serves a valid subscription: runUpdated starts with the current state.
    const updates = server.ws.iterate<{ runUpdated: { id: string; status: string } }>({ query: "subscription ($id: ID) { runUpdated(runId: $id) { id status } }", variables: { id: ids.runId } });
    expect((await updates.next()).value).toEqual({ data: { runUpdated: { id: ids.runId, status: "COMPLETED" } } });
    await updates.return?.();
    expect(await snapshot(server.service.store)).toEqual(before);
  });
});
