import { SOFTWARE_ADAPTER } from "./auto.js";

/**
 * WebGPU through Dawn (the npm package `webgpu`). tfjs-backend-webgpu registers
 * itself only if `navigator.gpu` exists when it is imported, so the globals go first.
 */
export async function loadWebgpu(): Promise<string> {
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);
  const gpu = create([]);
  // Node 21+ has a read-only global navigator: define rather than assign.
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
  if (!(globalThis as { navigator?: object }).navigator) {
    Object.defineProperty(globalThis, "navigator", { value: nav, configurable: true });
  }
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error("no WebGPU adapter (no Vulkan driver found)");
  const info = adapter.info;
  await import("@tensorflow/tfjs-backend-webgpu");
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ");
  const software = /llvmpipe|lavapipe|swiftshader/i.test(name) || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return `Dawn on ${name || "unknown adapter"}${software ? ` (${SOFTWARE_ADAPTER})` : ""}`;
}
