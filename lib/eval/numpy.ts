/**
 * The few numpy float computations the reference evaluators rely on, reproduced to the bit:
 * `np.linspace`, `np.arange` (floats), and the pairwise summation behind `np.sum`/`np.mean`.
 * Reference evaluators compare recall against these exact doubles (`0.30000000000000004` is
 * in `np.arange(0, 1.1, 0.1)`), so an "obvious" `i / 10` would change AP.
 *
 * @module
 */

/**
 * `np.linspace(start, stop, num)`: `i * step + start`, with the last value set to `stop`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linspace } from "./numpy.ts";
 * assert.equal(linspace(0.5, 0.95, 10)[8], 0.8999999999999999);
 * assert.equal(linspace(0, 1, 101)[35], 0.35000000000000003);
 * ```
 */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * `np.arange(start, stop, step)` for floats: `ceil((stop - start) / step)` values
 * `start + i * delta`, where `delta = (start + step) - start` (numpy's `DOUBLE_fill`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { arange } from "./numpy.ts";
 * const t = arange(0, 1.1, 0.1);
 * assert.equal(t.length, 11);
 * assert.equal(t[3], 0.30000000000000004);
 * ```
 */
export function arange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const delta = (start + step) - start;
  return Array.from(
    { length },
    (_, i) => i === 0 ? start : i === 1 ? start + step : start + i * delta,
  );
}

/** numpy's `pairwise_sum` over `values[from, from + n)` (blocks of 8, split above 128). */
function pairwise(values: ArrayLike<number>, from: number, n: number): number {
  if (n < 8) {
    let res = -0.0;
    for (let i = 0; i < n; i++) res += values[from + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => values[from + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += values[from + i + j];
    }
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += values[from + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(values, from, n2) + pairwise(values, from + n2, n - n2);
}

/**
 * `np.sum` of a contiguous float64 array: `0 + pairwise_sum(values)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sum } from "./numpy.ts";
 * assert.equal(sum([0.1, 0.2, 0.3]), 0.6000000000000001);
 * assert.equal(sum([]), 0);
 * ```
 */
export function sum(values: ArrayLike<number>): number {
  return 0 + pairwise(values, 0, values.length);
}

/**
 * `np.mean` of a contiguous float64 array (`NaN` when empty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mean } from "./numpy.ts";
 * assert.equal(mean([1, 2, 4, 5]), 3);
 * ```
 */
export function mean(values: ArrayLike<number>): number {
  return sum(values) / values.length;
}
