/** Shared set-up of the model tests: backends and little-endian float32 fixture files. */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/engine/tfjs.ts";

/** Makes `name` the current tfjs backend, starting it once per process. */
export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  if (tf.findBackend(name)) {
    await tf.setBackend(name);
    return;
  }
  await initBackend(name);
}

/** Reads a headerless little-endian float32 file. */
export async function readF32(path: string | URL): Promise<Float32Array> {
  const bytes = await Deno.readFile(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/**
 * max |a − b| / max(1, |b|) over all elements (`rel`), max |a − b| (`abs`), and max |a − b| over
 * max(1, max |b|) (`scaled`: the error against the output's own scale).
 */
export function maxDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { rel: number; abs: number; scaled: number } {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let rel = 0;
  let abs = 0;
  let peak = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    abs = Math.max(abs, d);
    rel = Math.max(rel, d / Math.max(1, Math.abs(b[i])));
    peak = Math.max(peak, Math.abs(b[i]));
  }
  return { rel, abs, scaled: abs / Math.max(1, peak) };
}
