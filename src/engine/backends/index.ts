import * as tf from "@tensorflow/tfjs-core";
// tfjs-core's Node build registers no gradients; the tfjs bundle does (and the cpu backend).
import "@tensorflow/tfjs";
import { BACKEND_ORDER, type BackendChoice, type BackendName } from "../config.js";
import { autoTakes } from "./auto.js";

export { autoTakes, BACKEND_ORDER, type BackendName };

export interface BackendStatus {
  name: BackendName;
  available: boolean;
  /** What it runs on when available (package, adapter); why not otherwise. */
  detail: string;
  /** Whether its CPU kernels run on threadCount() threads (the `threads` setting); otherwise the setting has no effect. */
  threaded: boolean;
}

export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly reasons: BackendStatus[],
  ) {
    super(
      `backend ${backend} is not available: ` +
        reasons.map((r) => `${r.name}: ${r.detail}`).join("; "),
    );
    this.name = "BackendUnavailableError";
  }
}

export interface LoadedBackend {
  detail: string;
  threaded: boolean;
}

/** Loads a backend's packages and registers it with tfjs. */
type Loader = () => Promise<LoadedBackend>;

/** A backend whose threads the `threads` setting does not reach (TensorFlow's own pools, a GPU, one JavaScript thread). */
const unthreaded = async (detail: Promise<string>): Promise<LoadedBackend> => ({ detail: await detail, threaded: false });

const loaders: Record<BackendName, Loader> = {
  tensorflow: async () => unthreaded((await import("./tensorflow.js")).loadTensorflow()),
  webgpu: async () => unthreaded((await import("./webgpu.js")).loadWebgpu()),
  wasm: async () => (await import("./wasm.js")).loadWasm(),
  cpu: async () => {
    await import("@tensorflow/tfjs-backend-cpu");
    return { detail: "pure JavaScript (@tensorflow/tfjs-backend-cpu)", threaded: false };
  },
};

// Skips tfjs's debug checks and its advice to install tfjs-node on every run.
tf.enableProdMode();

const probed = new Map<BackendName, Promise<BackendStatus>>();

/** Loads and initialises one backend once per process; never throws. */
export function probeBackend(name: BackendName): Promise<BackendStatus> {
  let status = probed.get(name);
  if (!status) {
    status = (async () => {
      try {
        const { detail, threaded } = await loaders[name]();
        if (!(await tf.setBackend(name))) return { name, available: false, detail: "failed to initialise", threaded: false };
        return { name, available: true, detail, threaded };
      } catch (err) {
        return { name, available: false, detail: err instanceof Error ? err.message : String(err), threaded: false };
      }
    })();
    probed.set(name, status);
  }
  return status;
}

/** Every backend, in `auto`'s order of preference, with whether it works here and why not. */
export async function backendReport(): Promise<BackendStatus[]> {
  const report: BackendStatus[] = [];
  for (const name of BACKEND_ORDER) report.push(await probeBackend(name));
  await restoreActive();
  return report;
}

let active: BackendName | undefined;

async function restoreActive(): Promise<void> {
  if (active) await tf.setBackend(active);
}

export interface BackendSelection {
  chosen: BackendStatus;
  /** Backends `auto` tried before the chosen one, with why each was passed over. */
  skipped: BackendStatus[];
}

/** Makes `choice` the active tfjs backend. `auto` takes the first in BACKEND_ORDER that autoTakes. */
export async function useBackend(choice: BackendChoice): Promise<BackendSelection> {
  const candidates = choice === "auto" ? BACKEND_ORDER : [choice];
  const tried: BackendStatus[] = [];
  for (const name of candidates) {
    const status = await probeBackend(name);
    tried.push(status);
    if (choice === "auto" ? !autoTakes(status) : !status.available) continue;
    await tf.setBackend(name);
    active = name;
    return { chosen: status, skipped: tried.slice(0, -1) };
  }
  throw new BackendUnavailableError(choice, tried);
}
