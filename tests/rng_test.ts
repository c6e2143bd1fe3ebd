import assert from "node:assert/strict";
import { choice, makeRng, mixSeed, randInt, shuffled, uniform } from "../lib/data/rng.ts";

// Values from an independent Python implementation: fixtures/rng/make_rng_fixture.py.
const reference = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/rng/rng_values.json", import.meta.url)),
) as { mulberry32: Record<string, number[]>; mixSeed: { parts: number[]; seed: number }[] };

Deno.test("makeRng() reproduces mulberry32's reference sequences", () => {
  for (const [seed, values] of Object.entries(reference.mulberry32)) {
    const rng = makeRng(Number(seed));
    for (const v of values) assert.equal(rng(), v, `seed ${seed}`);
  }
});

Deno.test("makeRng() takes seeds modulo 2^32 and rejects non-finite seeds", () => {
  assert.equal(makeRng(2 ** 32 + 42)(), reference.mulberry32["42"][0]);
  assert.equal(makeRng(-1)(), reference.mulberry32["4294967295"][0]);
  assert.throws(() => makeRng(NaN), RangeError);
});

Deno.test("makeRng() values lie in [0, 1) and look uniform", () => {
  const rng = makeRng(2024);
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = rng();
    assert.ok(x >= 0 && x < 1);
    bins[Math.floor(x * 10)]++;
  }
  // 10k expected per bin, sd ≈ 95: 600 is > 6 sd.
  for (const b of bins) assert.ok(Math.abs(b - 10_000) < 600, `bins ${bins}`);
});

Deno.test("mixSeed() matches the reference mixer and separates part orders", () => {
  for (const { parts, seed } of reference.mixSeed) assert.equal(mixSeed(...parts), seed);
  assert.notEqual(mixSeed(42, 0, 1), mixSeed(42, 1, 0));
});

Deno.test("uniform(), randInt(), choice() stay in range", () => {
  const rng = makeRng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const u = uniform(rng, -2, 3);
    assert.ok(u >= -2 && u < 3);
    const k = randInt(rng, 4, 9);
    assert.ok(Number.isInteger(k) && k >= 4 && k < 9);
    seen.add(k);
    assert.ok(["a", "b"].includes(choice(rng, ["a", "b"])));
  }
  assert.deepEqual([...seen].sort(), [4, 5, 6, 7, 8]);
  assert.throws(() => randInt(rng, 3, 3), RangeError);
  assert.throws(() => choice(rng, []), RangeError);
});

Deno.test("shuffled() permutes a copy, deterministically per seed", () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const a = shuffled(makeRng(11), items);
  const b = shuffled(makeRng(11), items);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, items);
  assert.deepEqual([...a].sort((x, y) => x - y), items);
  assert.deepEqual(items, Array.from({ length: 50 }, (_, i) => i));
});
