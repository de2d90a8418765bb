import { type DocumentNode, type ExecutionArgs, getOperationAST, Kind, print, visit } from "graphql";

/** A key equal for two subscriptions exactly when they ask for the same operation with the same variables. */
export function operationKey(args: ExecutionArgs): string {
  return `${args.operationName ?? ""}\n${print(args.document)}\n${JSON.stringify(args.variableValues ?? {})}`;
}

/**
 * A key equal for two subscriptions whose results for the same event are equal when the
 * root field's `ignored` argument makes no difference to them (a live tail's `after`,
 * which only says where a stream starts): the operation printed without that argument,
 * with the variables still used elsewhere, in the order the document uses them. Viewers
 * that each sent their own `after` get one key; any other difference (a field, an alias,
 * a directive, another argument or variable) still tells them apart.
 */
export function operationShape(args: ExecutionArgs, ignored: string): string {
  const operation = getOperationAST(args.document, args.operationName);
  const [root, ...others] = operation?.selectionSet.selections ?? [];
  const argument = root?.kind === Kind.FIELD ? root.arguments?.find((a) => a.name.value === ignored) : undefined;
  // A root field behind a fragment, or none to strip: only identical operations share.
  if (!operation || root?.kind !== Kind.FIELD || others.length > 0 || !argument) return operationKey(args);
  const field = { ...root, arguments: root.arguments!.filter((a) => a !== argument) };
  const stripped = { ...operation, selectionSet: { ...operation.selectionSet, selections: [field] } };
  const document: DocumentNode = { ...args.document, definitions: args.document.definitions.map((d) => (d === operation ? stripped : d)) };
  const used = new Set<string>();
  visit(document, {
    // A definition declares a variable; only its uses count.
    VariableDefinition: () => false,
    Variable: (node) => void used.add(node.name.value),
  });
  const values = args.variableValues ?? {};
  const variables = [...used].filter((name) => name in values).map((name) => [name, values[name]]);
  return `${args.operationName ?? ""}\n${print(document)}\n${JSON.stringify(variables)}`;
}
