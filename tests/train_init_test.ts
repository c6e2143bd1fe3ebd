import assert from "node:assert/strict";
import { getConfig } from "../lib/config.ts";
import type { StateDict } from "../lib/io/state_dict.ts";
import * as tf from "@tensorflow/tfjs-core";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
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

Deno.test("loadInitWeights rearranges the class outputs by name: each class's logits are the start weights', new classes fresh", async () => {
  await useBackend("cpu");
  const cfg = { ...getConfig("tiny"), classes: ["a", "b", "c", "d"] };
  const source = buildModel(cfg, { seed: 1 });
  const sd = source.stateDict();
  const [h, w] = cfg.imageSize;
  const x = tf.randomNormal([2, h, w, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const logitsOf = (m: SsdModel) => tf.tidy(() => m.predict(x).clsLogits.arraySync());
  const before = logitsOf(source);
  const cases: [string[], number][] = [
    [["d", "c", "b", "a"], 0], // another order: every class kept
    [["c", "x", "a"], 1], // fewer classes, one new
    [["b", "N/A", "d", "y", "a", "c"], 2], // more classes; "N/A" is never a match
  ];
  try {
    for (const [to, nFresh] of cases) {
      const target = buildModel({ ...cfg, classes: to }, { seed: 2 });
      try {
        const fresh = target.stateDict();
        const r = loadInitWeights(target, sd, {
          newHeads: true,
          classes: { from: cfg.classes, to },
        });
        assert.equal(r.reinitialized.length, 0);
        assert.equal(r.remapped?.fresh.length, nFresh, to.join());
        assert.equal(r.remapped?.tensors.length, 10); // weight and bias of 5 maps
        const cols = [0, ...to.map((n) => (n === "N/A" ? -1 : cfg.classes.indexOf(n)))]
          .map((i, k) => (k === 0 ? 0 : i < 0 ? -1 : i + 1));
        // A kept class's logits are the start weights' (the features are theirs too) …
        const after = logitsOf(target);
        let worst = 0;
        for (let b = 0; b < 2; b++) {
          for (let p = 0; p < after[b].length; p += 7) {
            cols.forEach((c, k) => {
              if (c >= 0) worst = Math.max(worst, Math.abs(after[b][p][k] - before[b][p][c]));
            });
          }
        }
        // … and a new class's output rows are the fresh initialisation.
        const got = target.stateDict();
        for (const name of r.remapped!.tensors) {
          const [f, g] = [fresh.get(name)!, got.get(name)!];
          const row = f.data.length / f.shape[0];
          for (let o = 0; o < f.shape[0]; o++) {
            if (cols[o % cols.length] >= 0) continue;
            for (let j = o * row; j < (o + 1) * row; j++) assert.equal(g.data[j], f.data[j]);
          }
        }
        assert.ok(worst < 1e-5, `${to.join()}: max |Δ| ${worst}`);
      } finally {
        target.dispose();
      }
    }
    // No class in common: the whole classification head starts fresh, as before.
    const other = buildModel({ ...cfg, classes: ["p", "q", "r", "s"] }, { seed: 3 });
    const r = loadInitWeights(other, sd, {
      newHeads: true,
      classes: { from: cfg.classes, to: ["p", "q", "r", "s"] },
    });
    assert.equal(r.remapped, undefined);
    assert.equal(r.reinitialized.length, 10);
    other.dispose();
  } finally {
    x.dispose();
    source.dispose();
  }
});

Deno.test("loadInitWeights on UltraFace's two-layer heads: the depthwise layers kept, face's logits carried to a new class list", async () => {
  await useBackend("cpu");
  const cfg = getConfig("face-slim-320");
  const source = buildModel(cfg, { seed: 1 });
  const target = buildModel({ ...cfg, classes: ["raccoon", "face"] }, { seed: 2 });
  const x = tf.randomNormal([1, ...cfg.imageSize, 3], 0, 1, "float32", 3);
  try {
    const sd = source.stateDict();
    const r = loadInitWeights(target, sd, {
      newHeads: true,
      classes: { from: cfg.classes, to: ["raccoon", "face"] },
    });
    assert.deepEqual(r.remapped?.kept, ["face"]);
    assert.deepEqual(r.remapped?.fresh, ["raccoon"]);
    assert.deepEqual(r.remapped?.tensors.sort(), [
      "classification_headers.0.2.bias",
      "classification_headers.0.2.weight",
      "classification_headers.1.2.bias",
      "classification_headers.1.2.weight",
      "classification_headers.2.2.bias",
      "classification_headers.2.2.weight",
      "classification_headers.3.bias",
      "classification_headers.3.weight",
    ]);
    assert.ok(same(target.stateDict(), sd, "classification_headers.0.0.weight"));
    const [a, b] = [source, target].map((m) =>
      tf.tidy(() => m.predict(x as tf.Tensor4D).clsLogits.arraySync())
    );
    let worst = 0;
    a[0].forEach((row, p) => {
      worst = Math.max(worst, Math.abs(b[0][p][0] - row[0]), Math.abs(b[0][p][2] - row[1]));
    });
    assert.ok(worst < 1e-5, `background and face logits: max |Δ| ${worst}`);
  } finally {
    x.dispose();
    source.dispose();
    target.dispose();
  }
});
