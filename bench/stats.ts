/**
 * The summaries a row reports: median, min and max of one side's samples, and the ratio of two
 * sides measured in alternation, as the median of the per-pair ratios with their min–max.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairedRatio, summarize } from "./stats.ts";
 * assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3 });
 * // pairs (ours[i], theirs[i]) measured back to back: a shared slowdown cancels in each ratio
 * assert.deepEqual(pairedRatio([20, 40, 22], [10, 20, 10]), { median: 2, min: 2, max: 2.2 });
 * ```
 *
 * @module
 */

/** Median, min and max of a sample. */
export interface Summary {
  median: number;
  min: number;
  max: number;
}

/** The median (mean of the middle two for an even count), min and max of `values`. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError("Cannot summarize: no values");
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return { median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2, min: s[0], max: s.at(-1)! };
}

/**
 * `ours[i] / theirs[i]` of each pair, summarized: the median ratio and its range.
 *
 * @throws {RangeError} when the two sides have different counts.
 */
export function pairedRatio(ours: readonly number[], theirs: readonly number[]): Summary {
  if (ours.length !== theirs.length) {
    throw new RangeError(
      `Cannot pair measurements: ${ours.length} of ours and ${theirs.length} of theirs`,
    );
  }
  return summarize(ours.map((o, i) => o / theirs[i]));
}
