/**
 * The native TensorFlow backend: @tensorflow/tfjs-node-gpu (CUDA), else
 * @tensorflow/tfjs-node. Both are optional dependencies whose install downloads
 * libtensorflow, so either may be missing or fail to load its native library.
 */
export async function loadTensorflow(): Promise<string> {
  const reasons: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(pkg);
      return pkg;
    } catch (err) {
      reasons.push(`${pkg.replace("@tensorflow/", "")} ${describeLoadError(err)}`);
    }
  }
  throw new Error(reasons.join("; "));
}

function describeLoadError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "MODULE_NOT_FOUND") {
    // A package present but without its native binding also fails to resolve a module.
    return /tfjs_binding|napi-v\d/.test(e.message ?? "") ? "installed without its native library" : "not installed";
  }
  const missingLib = /(lib[\w.+-]+\.so[\w.]*)/.exec(e.message ?? "");
  return missingLib ? `${missingLib[1]} not found` : `failed to load: ${e.message ?? String(err)}`;
}
