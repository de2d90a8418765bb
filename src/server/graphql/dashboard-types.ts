/**
 * The dashboard's TypeScript types, generated from the schema and the dashboard's own
 * GraphQL documents (web/src/queries.ts): every enum's values, every input type with its
 * default values, and each operation's result and variables exactly as its selection
 * asks for them. `npm run schema` writes them to web/src/schema-types.ts, and
 * test/schema-sources.test.ts checks that file is up to date, so a changed schema or
 * query fails the dashboard's typecheck where it no longer fits.
 *
 * Deliberately small: named operations without fragments or directives, which is all
 * the dashboard writes; anything else is refused rather than typed loosely.
 */
import {
  astFromValue,
  type GraphQLEnumType,
  type GraphQLField,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLScalarType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  type SelectionSetNode,
  typeFromAST,
  validate,
  valueFromASTUntyped,
} from "graphql";

export const DASHBOARD_TYPES_FILE = "web/src/schema-types.ts";

/** The schema's scalars as JSON carries them. */
const SCALARS: Record<string, string> = {
  ID: "string",
  String: "string",
  Int: "number",
  Float: "number",
  Boolean: "boolean",
  DateTimeISO: "string",
};

/** Whether an exported string is an operation rather than a piece of one (a field list). */
export function isOperationDocument(text: string): boolean {
  return /^\s*(query|mutation|subscription)\b/.test(text);
}

/** The operations among a module's exports, by export name, in name order. */
export function operationDocuments(exports: Record<string, unknown>): [string, string][] {
  return Object.entries(exports)
    .filter((entry): entry is [string, string] => typeof entry[1] === "string" && isOperationDocument(entry[1]))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function scalar(type: GraphQLScalarType): string {
  const ts = SCALARS[type.name];
  if (!ts) throw new Error(`dashboard types: no TypeScript type for the scalar ${type.name}; add it to SCALARS`);
  return ts;
}

function indent(level: number): string {
  return "  ".repeat(level);
}

function nullable(ts: string): string {
  return `${ts} | null`;
}

function list(item: string): string {
  return / \| null$/.test(item) ? `(${item})[]` : `${item}[]`;
}

function leafName(type: GraphQLNamedType): string {
  if (isScalarType(type)) return scalar(type);
  if (isEnumType(type) || isInputObjectType(type)) return type.name;
  throw new Error(`dashboard types: ${type.name} has fields: select some`);
}

/** An output type under a selection: an inline object type, fields in the selection's order. */
function outputType(type: GraphQLOutputType, selection: SelectionSetNode | undefined, level: number): string {
  if (isNonNullType(type)) return outputType(type.ofType, selection, level).replace(/ \| null$/, "");
  if (isListType(type)) return nullable(list(outputType(type.ofType, selection, level)));
  if (isObjectType(type)) {
    if (!selection) throw new Error(`dashboard types: ${type.name} needs a selection`);
    return nullable(selectionType(type, selection, level));
  }
  return nullable(leafName(type));
}

function selectionType(parent: GraphQLObjectType, selectionSet: SelectionSetNode, level: number): string {
  const lines = selectionSet.selections.map((selection) => {
    if (selection.kind !== Kind.FIELD) throw new Error("dashboard types: fragments are not supported");
    if (selection.directives?.length) throw new Error("dashboard types: directives are not supported");
    const key = selection.alias?.value ?? selection.name.value;
    if (selection.name.value === "__typename") return `${indent(level + 1)}${key}: ${JSON.stringify(parent.name)};`;
    const field: GraphQLField<unknown, unknown> | undefined = parent.getFields()[selection.name.value];
    if (!field) throw new Error(`dashboard types: ${parent.name} has no field ${selection.name.value}`);
    return `${indent(level + 1)}${key}: ${outputType(field.type, selection.selectionSet, level + 1)};`;
  });
  return `{\n${lines.join("\n")}\n${indent(level)}}`;
}

/** An input type as a client writes it: nullable fields and fields with a default may be left out. */
function inputType(type: GraphQLInputType): string {
  if (isNonNullType(type)) return inputType(type.ofType).replace(/ \| null$/, "");
  if (isListType(type)) return nullable(list(inputType(type.ofType)));
  return nullable(leafName(type));
}

function inputField(name: string, type: GraphQLInputType, hasDefault: boolean, level: number): string {
  const optional = !isNonNullType(type) || hasDefault;
  return `${indent(level)}${name}${optional ? "?" : ""}: ${inputType(type)};`;
}

function byName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function enumDeclaration(type: GraphQLEnumType): string {
  // In the order the server declares them (a lifecycle, not the alphabet).
  const values = type.getValues().map((v) => JSON.stringify(v.name));
  return [
    `export const ${type.name}Values = [${values.join(", ")}] as const;`,
    `export type ${type.name} = (typeof ${type.name}Values)[number];`,
  ].join("\n");
}

function inputDeclaration(type: GraphQLInputObjectType): string {
  const fields = byName(Object.values(type.getFields()));
  const lines = [
    `export interface ${type.name} {`,
    ...fields.map((f) => inputField(f.name, f.type, f.defaultValue !== undefined, 1)),
    "}",
  ];
  const defaults = fields.filter((f) => f.defaultValue !== undefined);
  if (defaults.length > 0) {
    lines.push(`/** ${type.name}'s default values, as the schema publishes them. */`, `export const ${type.name}Defaults = {`);
    for (const f of defaults) {
      const ast = astFromValue(f.defaultValue, f.type);
      if (!ast) throw new Error(`dashboard types: ${type.name}.${f.name}'s default cannot be written`);
      lines.push(`  ${f.name}: ${JSON.stringify(valueFromASTUntyped(ast))},`);
    }
    lines.push("} as const;");
  }
  return lines.join("\n");
}

function operationDeclarations(schema: GraphQLSchema, exportName: string, operation: OperationDefinitionNode): string {
  if (!operation.name) throw new Error(`dashboard types: ${exportName}'s operation needs a name`);
  const name = operation.name.value;
  const root = schema.getRootType(operation.operation);
  if (!root) throw new Error(`dashboard types: the schema has no ${operation.operation} type`);
  // RunsQuery, StartRunMutation: the operation's name and its root type's.
  const typeName = `${name[0]!.toUpperCase()}${name.slice(1)}${root.name}`;
  const variables = (operation.variableDefinitions ?? []).map((v) => {
    const type = typeFromAST(schema, v.type);
    if (!type || !isInputType(type)) throw new Error(`dashboard types: ${exportName}: no input type ${print(v.type)}`);
    return inputField(v.variable.name.value, type, v.defaultValue !== undefined, 1);
  });
  return [
    `/** ${exportName} */`,
    `export type ${typeName} = ${selectionType(root, operation.selectionSet, 0)};`,
    `export type ${typeName}Variables = ${variables.length ? `{\n${variables.join("\n")}\n}` : "Record<string, never>"};`,
  ].join("\n");
}

/** The generated module's text; throws on a document the schema does not validate. */
export function dashboardTypes(schema: GraphQLSchema, documents: readonly (readonly [string, string])[]): string {
  const operations: string[] = [];
  for (const [exportName, text] of documents) {
    const document = parse(text);
    const errors = validate(schema, document);
    if (errors.length > 0) throw new Error(`dashboard types: ${exportName} does not fit the schema: ${errors.map((e) => e.message).join("; ")}`);
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) throw new Error(`dashboard types: ${exportName}: only operations are supported`);
      operations.push(operationDeclarations(schema, exportName, definition));
    }
  }
  const named = byName(Object.values(schema.getTypeMap()).filter((type) => !type.name.startsWith("__")));
  const header = "// Generated by `npm run schema` from the server's schema and web/src/queries.ts\n// (src/server/graphql/dashboard-types.ts): do not edit.";
  return `${[header, ...named.filter(isEnumType).map(enumDeclaration), ...named.filter(isInputObjectType).map(inputDeclaration), ...operations].join("\n\n")}\n`;
}
