/**
 * onnxruntime-node presence. Inference through it lives elsewhere; this only tells whether
 * the native library loads (it needs `--allow-ffi`, and its CPU binaries ship in the npm
 * tarball).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { onnxruntimeAvailable } from "./onnx.ts";
 * const status = await onnxruntimeAvailable();
 * assert.equal(typeof status.ok, "boolean");
 * ```
 *
 * @module
 */

/** Whether onnxruntime-node loaded, its version, or why not. */
export interface OnnxStatus {
  /** onnxruntime-node could be imported. */
  ok: boolean;
  /** Its version, when loaded and it says. */
  version?: string;
  /** The first line of the import error, when not loaded. */
  error?: string;
}

/** Tries to load onnxruntime-node; never throws. */
export async function onnxruntimeAvailable(): Promise<OnnxStatus> {
  try {
    const ort = await import("onnxruntime-node");
    const version = (ort.env as { versions?: { node?: string; common?: string } }).versions;
    return { ok: true, version: version?.node ?? version?.common };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, error: message.split("\n")[0] };
  }
}
