/**
 * A small seeded pseudo-random generator for data synthesis, augmentation and shuffling.
 *
 * `makeRng` is mulberry32 (Tommy Ettinger's 32-bit generator, public domain): integer-only
 * arithmetic on 32 bits (`Math.imul`, shifts), so the same seed gives the same sequence on
 * every machine and JavaScript engine. `mixSeed` derives independent seeds from several
 * integers (for example `seed, epoch, index`) with the splitmix32 finaliser, so per-sample
 * streams do not depend on the order in which samples are processed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRng, mixSeed, randInt } from "./rng.ts";
 * const a = makeRng(42);
 * const b = makeRng(42);
 * assert.equal(a(), b());
 * const x = makeRng(mixSeed(7, 0, 3))();
 * assert.ok(x >= 0 && x < 1);
 * assert.ok([0, 1, 2].includes(randInt(makeRng(1), 0, 3)));
 * ```
 *
 * @module
 */

/** A generator of floats uniform in `[0, 1)`. */
export type Rng = () => number;

/**
 * Make a mulberry32 generator. The seed is taken modulo 2^32 (a non-integer seed is truncated).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRng } from "./rng.ts";
 * const rng = makeRng(1);
 * assert.equal(Math.round(rng() * 1e9), 627073941); // mulberry32(1) begins 0.62707394058…
 * ```
 */
export function makeRng(seed: number): Rng {
  if (!Number.isFinite(seed)) {
    throw new RangeError(`Cannot make an rng: seed must be a finite number, got ${seed}`);
  }
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Combine integers into one 32-bit seed (splitmix32 finaliser applied after each part).
 * Different part lists give unrelated seeds: `mixSeed(s, 0, 1)` and `mixSeed(s, 1, 0)` differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mixSeed } from "./rng.ts";
 * assert.equal(mixSeed(1, 2, 3), mixSeed(1, 2, 3));
 * assert.notEqual(mixSeed(1, 2, 3), mixSeed(1, 3, 2));
 * ```
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = (h + (Math.trunc(part) >>> 0) + 0x9e3779b9) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
    h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
    h = (h ^ (h >>> 15)) >>> 0;
  }
  return h;
}

/**
 * A float uniform in `[lo, hi)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRng, uniform } from "./rng.ts";
 * const x = uniform(makeRng(3), -32, 32);
 * assert.ok(x >= -32 && x < 32);
 * ```
 */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/**
 * An integer uniform in `[lo, hi)` (`hi` excluded, like Python's `randrange`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRng, randInt } from "./rng.ts";
 * assert.equal(randInt(makeRng(3), 5, 6), 5);
 * ```
 */
export function randInt(rng: Rng, lo: number, hi: number): number {
  if (!(hi > lo)) throw new RangeError(`Cannot draw an integer: need lo < hi, got [${lo}, ${hi})`);
  return lo + Math.floor((hi - lo) * rng());
}

/**
 * One element of a non-empty array, uniformly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choice, makeRng } from "./rng.ts";
 * assert.equal(choice(makeRng(9), ["only"]), "only");
 * ```
 */
export function choice<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError("Cannot choose from an empty array");
  return items[randInt(rng, 0, items.length)];
}

/**
 * A shuffled copy of `items` (Fisher–Yates); the input is not changed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRng, shuffled } from "./rng.ts";
 * const order = shuffled(makeRng(5), [0, 1, 2, 3]);
 * assert.deepEqual([...order].sort(), [0, 1, 2, 3]);
 * ```
 */
export function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
