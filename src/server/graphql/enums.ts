// The schema's enums, each made from its one source: the engine's lists (datasets,
// backends) and the store's (run statuses, sample kinds). Conversions are lookups that
// fail loudly, never casts.
import { registerEnumType } from "type-graphql";
import { BACKEND_CHOICES, BACKEND_ORDER, type BackendChoice, DATASET_KINDS, type DatasetKind as EngineDatasetKind } from "../../engine/config.js";
import { RUN_STATUSES, type RunStatus as StoreRunStatus, SAMPLE_KINDS, type SampleKind as StoreSampleKind } from "../store/types.js";

/** What registerEnumType takes: each value its own name, as a TypeScript string enum has it. */
type EnumObject<V extends string> = { readonly [K in V]: K };

function enumObject<const V extends string>(values: readonly V[]): EnumObject<V> {
  return Object.freeze(Object.fromEntries(values.map((value) => [value, value]))) as EnumObject<V>;
}

/** A two-way conversion over a one-to-one table; a value outside it is a bug, and throws. */
function bijection<A extends string, B extends string>(name: string, pairs: readonly (readonly [A, B])[]) {
  const forward = new Map(pairs);
  const backward = new Map(pairs.map(([a, b]) => [b, a]));
  if (forward.size !== pairs.length || backward.size !== pairs.length) throw new Error(`${name}: the conversion table is not one-to-one`);
  const look = <K, T>(table: Map<K, T>, key: K): T => {
    const value = table.get(key);
    if (value === undefined) throw new Error(`${name}: no value for ${String(key)}`);
    return value;
  };
  return { to: (a: A): B => look(forward, a), from: (b: B): A => look(backward, b) };
}

/** The engine's dataset kinds by their GraphQL names; `satisfies` fails to compile when the engine's list changes. */
const DATASET_NAMES = {
  synthetic: "SYNTHETIC",
  "fashion-mnist": "FASHION_MNIST",
  mnist: "MNIST",
  folder: "IMAGE_FOLDER",
} as const satisfies Record<EngineDatasetKind, string>;

export type DatasetKind = (typeof DATASET_NAMES)[EngineDatasetKind];
export const DatasetKind = enumObject(DATASET_KINDS.map((kind) => DATASET_NAMES[kind]));
registerEnumType(DatasetKind, { name: "DatasetKind", description: "Where training images come from" });

const datasets = bijection(
  "DatasetKind",
  DATASET_KINDS.map((kind) => [kind, DATASET_NAMES[kind]] as const),
);
export const datasetToEngine: (kind: DatasetKind) => EngineDatasetKind = datasets.from;
export const datasetFromEngine: (kind: EngineDatasetKind) => DatasetKind = datasets.to;

/** "wasm" -> "WASM": the backends' GraphQL names are the engine's, upper-cased. */
const upper = <S extends string>(s: S): Uppercase<S> => s.toUpperCase() as Uppercase<S>;

export type Backend = Uppercase<BackendChoice>;
export const Backend = enumObject(BACKEND_CHOICES.map(upper));
registerEnumType(Backend, {
  name: "Backend",
  description: `TensorFlow.js backend; AUTO takes the first available of ${BACKEND_ORDER.map(upper).join(", ")}`,
});

const backends = bijection(
  "Backend",
  BACKEND_CHOICES.map((choice) => [choice, upper(choice)] as const),
);
export const backendToEngine: (backend: Backend) => BackendChoice = backends.from;
export const backendFromEngine: (backend: BackendChoice) => Backend = backends.to;

export type RunStatus = StoreRunStatus;
export const RunStatus = enumObject(RUN_STATUSES);
registerEnumType(RunStatus, { name: "RunStatus" });

export type SampleKind = StoreSampleKind;
export const SampleKind = enumObject(SAMPLE_KINDS);
registerEnumType(SampleKind, {
  name: "SampleKind",
  description: "FIXED_NOISE: G's images of the run's fixed noise; REAL: training images; GENERATED: from generate()",
});
