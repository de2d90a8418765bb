import { registerEnumType } from "type-graphql";
import type { BackendChoice, DatasetKind as EngineDatasetKind } from "../../engine/config.js";
import { RUN_STATUSES } from "../store/types.js";

export enum DatasetKind {
  SYNTHETIC = "SYNTHETIC",
  FASHION_MNIST = "FASHION_MNIST",
  MNIST = "MNIST",
  IMAGE_FOLDER = "IMAGE_FOLDER",
}
registerEnumType(DatasetKind, { name: "DatasetKind", description: "Where training images come from" });

export const DATASET_TO_ENGINE: Record<DatasetKind, EngineDatasetKind> = {
  SYNTHETIC: "synthetic",
  FASHION_MNIST: "fashion-mnist",
  MNIST: "mnist",
  IMAGE_FOLDER: "folder",
};

export function datasetFromEngine(kind: EngineDatasetKind): DatasetKind {
  return (Object.keys(DATASET_TO_ENGINE) as DatasetKind[]).find((k) => DATASET_TO_ENGINE[k] === kind)!;
}

export enum Backend {
  AUTO = "AUTO",
  TENSORFLOW = "TENSORFLOW",
  WEBGPU = "WEBGPU",
  WASM = "WASM",
  CPU = "CPU",
}
registerEnumType(Backend, { name: "Backend", description: "TensorFlow.js backend; AUTO takes the first available of TENSORFLOW, WEBGPU, WASM, CPU" });

export const backendToEngine = (b: Backend): BackendChoice => b.toLowerCase() as BackendChoice;
export const backendFromEngine = (b: string): Backend => b.toUpperCase() as Backend;

export enum RunStatus {
  QUEUED = "QUEUED",
  RUNNING = "RUNNING",
  STOPPING = "STOPPING",
  STOPPED = "STOPPED",
  COMPLETED = "COMPLETED",
  FAILED = "FAILED",
  INTERRUPTED = "INTERRUPTED",
}
registerEnumType(RunStatus, { name: "RunStatus" });
// The store's statuses and the schema's must stay the same list.
RUN_STATUSES satisfies readonly `${RunStatus}`[];

export enum SampleKind {
  FIXED_NOISE = "FIXED_NOISE",
  REAL = "REAL",
  GENERATED = "GENERATED",
}
registerEnumType(SampleKind, {
  name: "SampleKind",
  description: "FIXED_NOISE: G's images of the run's fixed noise; REAL: training images; GENERATED: from generate()",
});
