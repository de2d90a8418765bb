import { registerWasmTrainingKernels } from "./wasm-kernels.js";

export async function loadWasm(): Promise<string> {
  // Registers the 'wasm' backend; in Node it reads its .wasm file from node_modules.
  await import("@tensorflow/tfjs-backend-wasm");
  registerWasmTrainingKernels();
  return "WebAssembly SIMD, one thread (@tensorflow/tfjs-backend-wasm)";
}
