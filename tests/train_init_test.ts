import assert from "node:assert/strict";
import { getConfig } from "../lib/config.ts";
import type { StateDict } from "../lib/io/state_dict.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { classesDiffer, loadInitWeights } from "../lib/train/init.ts";
import { useBackend } from "./model_helpers.ts";

const HEAD = "head.classification_head.";

function same(a: StateDict, b: StateDict, name: string): boolean {
  const [x, y] = [a.get(name)!.data, b.get(name)!.data];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test("classesDiffer: another count, other names or another order", () => {
  assert.equal(classesDiffer(["face"], ["face"]), false);
  assert.equal(classesDiffer(["face"], ["raccoon"]), true);
  assert.equal(classesDiffer(["a", "b"], ["b", "a"]), true);
  assert.equal(classesDiffer(["a"], ["a", "b"]), true);
});

Deno.test("loadInitWeights keeps the heads for the same classes, renews them for others", async () => {
  await useBackend("cpu");
  const cfg = getConfig("tiny");
  const source = buildModel(cfg, { seed: 1 });
  const sd = source.stateDict();
  const names = [...sd.keys()].filter((k) => !k.endsWith("num_batches_tracked"));
  const heads = names.filter((k) => k.startsWith(HEAD));
  assert.ok(heads.length > 0, "tiny has classification-head tensors");
  for (const newHeads of [false, true]) {
    const target = buildModel(cfg, { seed: 2 });
    const fresh = target.stateDict();
    try {
      const r = loadInitWeights(target, sd, { newHeads });
      const got = target.stateDict();
      assert.deepEqual(r.reinitialized.sort(), newHeads ? [...heads].sort() : []);
      for (const name of names) {
        const renewed = newHeads && name.startsWith(HEAD);
        assert.ok(same(got, renewed ? fresh : sd, name), `${name} (newHeads ${newHeads})`);
      }
    } finally {
      target.dispose();
    }
  }
  // another class count: the heads' shapes differ, so they are renewed without being asked
  const two = buildModel({ ...cfg, classes: ["a", "b"] }, { seed: 3 });
  try {
    const r = loadInitWeights(two, sd);
    assert.deepEqual(r.reinitialized.sort(), [...heads].sort());
    assert.ok(same(two.stateDict(), sd, "backbone.layers.0.conv.weight"));
  } finally {
    two.dispose();
    source.dispose();
  }
});
