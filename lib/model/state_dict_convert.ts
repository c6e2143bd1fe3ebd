/**
 * Element conversion of state-dict arrays to float32, the only dtype the networks hold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float32Values } from "./state_dict_convert.ts";
 * // float16 0x3c00 = 1, 0xc000 = −2, 0x3555 ≈ 0.33325
 * const half = { dtype: "float16" as const, shape: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x3555) };
 * const v = float32Values(half);
 * assert.equal(v[0], 1);
 * assert.equal(v[1], -2);
 * assert.ok(Math.abs(v[2] - 0.33325) < 1e-5);
 * ```
 *
 * @module
 */
import type { TensorData } from "../io/state_dict.ts";

/** IEEE 754 half → number (subnormals, infinities and NaN included). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The values of `t` as a Float32Array (the same array when it already is float32). */
export function float32Values(t: TensorData): Float32Array {
  const d = t.data;
  if (t.dtype === "float32" && d instanceof Float32Array) return d;
  if (t.dtype === "float16") return Float32Array.from(d as Uint16Array, halfToNumber);
  if (d instanceof BigInt64Array) return Float32Array.from(d, (v) => Number(v));
  return Float32Array.from(d as ArrayLike<number>);
}
