import type { LoadedBackend } from "./index.js";
import { useNativeKernels } from "./native/index.js";
import { registerWasmTrainingKernels } from "./wasm-kernels.js";

export async function loadWasm(): Promise<LoadedBackend> {
  // Registers the 'wasm' backend; in Node it reads its .wasm file from node_modules.
  await import("@tensorflow/tfjs-backend-wasm");
  registerWasmTrainingKernels();
  const native = useNativeKernels();
  if (!native.loaded) return { detail: `WebAssembly SIMD, one thread (@tensorflow/tfjs-backend-wasm); ${native.why}`, threaded: false };
  return { detail: `WebAssembly SIMD (@tensorflow/tfjs-backend-wasm), native kernels: ${native.detail}`, threaded: true };
}
