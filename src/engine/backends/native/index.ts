import { loadAddon } from "./addon.js";
import { registerNativeConvolutions } from "./convolutions.js";
import { registerNativeTrainingLayers } from "./training-layers.js";

export { NATIVE_KERNELS_SWITCH } from "./addon.js";

export type NativeKernelsStatus = { loaded: true; detail: string } | { loaded: false; why: string };

let status: NativeKernelsStatus | undefined;

/**
 * Puts the wasm backend's training convolutions on oneDNN, the library behind PyTorch's
 * CPU convolutions, and its memory-bound layers on native loops, all on threadCount()
 * threads. Once per process; where the addon was not built (no compiler or libdnnl at
 * install) the wasm kernels stay, and the status says why.
 */
export function useNativeKernels(): NativeKernelsStatus {
  if (status) return status;
  const loaded = loadAddon();
  if (!loaded.loaded) return (status = loaded);
  registerNativeConvolutions(loaded.addon);
  registerNativeTrainingLayers(loaded.addon);
  return (status = { loaded: true, detail: `oneDNN ${loaded.addon.describe()}` });
}
