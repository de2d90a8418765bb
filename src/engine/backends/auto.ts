// auto's rule, apart from the backends themselves: the server applies it to a backend
// report without loading TensorFlow.js into its own process.
import type { BackendStatus } from "./index.js";

/** Marks a WebGPU adapter that runs on the CPU (lavapipe, SwiftShader) in webgpu.ts's detail. */
export const SOFTWARE_ADAPTER = "software adapter";

/** Whether `auto` takes a backend it comes to: one that works, and no software GPU adapter (a CPU trains faster on wasm). */
export function autoTakes(status: BackendStatus): boolean {
  return status.available && !(status.name === "webgpu" && status.detail.includes(SOFTWARE_ADAPTER));
}
