/**
 * The one input normalization of the project, shared by detection and the training loader:
 * `x = (pixel − mean) / std` per RGB channel, in float32 as the references compute it (the
 * subtraction rounded to float32, then the division), so UltraFace's `(u8 − 127) / 128` is exact.
 *
 * @module
 */
import type { RgbImage } from "./types.ts";

/**
 * Normalizes an RGB image into `[H, W, 3]` float32 values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeRgb } from "./normalize.ts";
 * const img = { width: 1, height: 1, data: new Uint8Array([255, 127, 0]) };
 * const x = normalizeRgb(img, { mean: [127, 127, 127], std: [128, 128, 128] });
 * assert.deepEqual([...x], [1, 0, -127 / 128]);
 * ```
 */
export function normalizeRgb(
  image: RgbImage,
  norm: { mean: readonly number[]; std: readonly number[] },
): Float32Array {
  const [m0, m1, m2] = norm.mean;
  const [s0, s1, s2] = norm.std;
  const src = image.data;
  const x = new Float32Array(image.width * image.height * 3);
  for (let i = 0; i < x.length; i += 3) {
    x[i] = Math.fround(src[i] - m0) / s0;
    x[i + 1] = Math.fround(src[i + 1] - m1) / s1;
    x[i + 2] = Math.fround(src[i + 2] - m2) / s2;
  }
  return x;
}
