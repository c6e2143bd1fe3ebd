import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { multiboxLoss } from "../lib/loss.ts";
import { matchTargets } from "../lib/match.ts";
import { registerTrainingGradients } from "../lib/engine/gradients.ts";
import { webGpuTest } from "./webgpu_helpers.ts";

await tf.setBackend("cpu");
await registerTrainingGradients(); // tfjs-core alone has no gradient functions

// torchvision 0.14 SSD.compute_loss itself; see fixtures/torchvision/make_fixtures.py.
const TV = new URL("../fixtures/torchvision/", import.meta.url);
const fx = JSON.parse(Deno.readTextFileSync(new URL("loss.json", TV)));

function readF32(file: string): Float32Array {
  const bytes = Deno.readFileSync(new URL(file, TV));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

interface LossCase {
  name: string;
  numClasses: number;
  gtXyxy: number[][][];
  labels: number[][];
  positives: number[];
  locLoss: number;
  clsLoss: number;
  priors?: string;
  priorsCxcywh?: number[][];
  locPred: { file: string; shape: number[] } | number[][][];
  clsLogits: { file: string; shape: number[] } | number[][][];
  gradLoc?: number[][][];
  gradLogits?: number[][][];
}

function caseTensors(c: LossCase) {
  const priors = c.priors
    ? tf.tensor2d(readF32(c.priors), [readF32(c.priors).length / 4, 4])
    : tf.tensor2d(c.priorsCxcywh!);
  const load = (x: LossCase["locPred"]) =>
    Array.isArray(x)
      ? tf.tensor3d(x)
      : tf.tensor3d(readF32(x.file), x.shape as [number, number, number]);
  const targets = matchTargets(
    priors,
    c.gtXyxy.map((b, k) => ({ boxes: b.flat(), labels: c.labels[k] })),
  );
  return { priors, locPred: load(c.locPred), clsLogits: load(c.clsLogits), targets };
}

function relErr(got: number, want: number): number {
  return Math.abs(got - want) / Math.max(1e-12, Math.abs(want));
}

for (const c of fx.cases as LossCase[]) {
  Deno.test(`multiboxLoss() equals torchvision SSD.compute_loss within 1e-5: ${c.name}`, () => {
    const { priors, locPred, clsLogits, targets } = caseTensors(c);
    assert.deepEqual(targets.matches.map((m) => m.filter((i) => i >= 0).length), c.positives);
    const out = multiboxLoss({ locPred, clsLogits }, targets);
    const [loc, cls, total] = [out.locLoss, out.clsLoss, out.loss].map((t) => t.dataSync()[0]);
    if (c.locLoss === 0) assert.equal(loc, 0);
    else assert.ok(relErr(loc, c.locLoss) <= 1e-5, `locLoss ${loc} vs ${c.locLoss}`);
    if (c.clsLoss === 0) assert.equal(cls, 0);
    else assert.ok(relErr(cls, c.clsLoss) <= 1e-5, `clsLoss ${cls} vs ${c.clsLoss}`);
    assert.ok(Math.abs(total - (loc + cls)) <= 1e-5 * Math.max(1, total));
    tf.dispose([priors, locPred, clsLogits, targets.locTargets, targets.clsTargets]);
    tf.dispose([out.loss, out.locLoss, out.clsLoss]);
  });
}

Deno.test("multiboxLoss() gradients equal torchvision autograd (3:1 mining at and below the limit)", () => {
  const c = (fx.cases as LossCase[]).find((x) => x.gradLoc)!;
  const { priors, locPred, clsLogits, targets } = caseTensors(c);
  const grads = tf.grads((l: tf.Tensor, g: tf.Tensor) =>
    multiboxLoss({ locPred: l as tf.Tensor3D, clsLogits: g as tf.Tensor3D }, targets).loss
  )([locPred, clsLogits]);
  const check = (got: tf.Tensor, want: number[][][], what: string) => {
    const g = got.dataSync(), w = want.flat(2);
    for (let i = 0; i < w.length; i++) {
      assert.ok(
        Math.abs(g[i] - w[i]) <= 1e-5 * Math.max(1, Math.abs(w[i])),
        `${what}[${i}]: ${g[i]} vs ${w[i]}`,
      );
    }
  };
  check(grads[0], c.gradLoc!, "d loss / d locPred");
  check(grads[1], c.gradLogits!, "d loss / d clsLogits");
  tf.dispose([priors, locPred, clsLogits, targets.locTargets, targets.clsTargets, ...grads]);
});

Deno.test("multiboxLoss() is finite and zero for a batch without ground truth (G = 0)", () => {
  const clsLogits = tf.randomNormal([2, 10, 3]) as tf.Tensor3D;
  const locPred = tf.randomNormal([2, 10, 4]) as tf.Tensor3D;
  const locTargets = tf.zeros([2, 10, 4]) as tf.Tensor3D;
  const clsTargets = tf.zeros([2, 10], "int32") as tf.Tensor2D;
  const out = multiboxLoss({ locPred, clsLogits }, { locTargets, clsTargets });
  assert.equal(out.loss.dataSync()[0], 0);
  const [gLoc, gCls] = tf.grads((l: tf.Tensor, g: tf.Tensor) =>
    multiboxLoss({ locPred: l as tf.Tensor3D, clsLogits: g as tf.Tensor3D }, {
      locTargets,
      clsTargets,
    }).loss
  )([locPred, clsLogits]);
  assert.ok(gLoc.dataSync().every((v) => v === 0) && gCls.dataSync().every((v) => v === 0));
  tf.dispose([
    clsLogits,
    locPred,
    locTargets,
    clsTargets,
    out.loss,
    out.locLoss,
    out.clsLoss,
    gLoc,
    gCls,
  ]);
});

Deno.test("multiboxLoss() mines the hardest negatives at 3:1, hand computed", () => {
  // one positive (prior 0, class 1) and five negatives with distinct background losses
  const bg = [0, 0, 4, 1, 3, 2]; // logit of class 1 at each prior; background logit 0
  const clsLogits = tf.tensor3d([bg.map((v, j) => (j === 0 ? [0, 2] : [0, v]))]);
  const locPred = tf.zeros([1, 6, 4]) as tf.Tensor3D;
  const locTargets = tf.zeros([1, 6, 4]) as tf.Tensor3D;
  const clsTargets = tf.tensor2d([[1, 0, 0, 0, 0, 0]], [1, 6], "int32");
  const out = multiboxLoss({ locPred, clsLogits }, { locTargets, clsTargets });
  // CE(positive) = log(1 + e^-2); the 3 hardest negatives have logits 4, 3, 2: log(1 + e^v)
  const want = Math.log(1 + Math.exp(-2)) +
    [4, 3, 2].reduce((s, v) => s + Math.log(1 + Math.exp(v)), 0);
  assert.ok(Math.abs(out.clsLoss.dataSync()[0] - want) < 1e-5);
  assert.equal(out.locLoss.dataSync()[0], 0);
  tf.dispose([clsLogits, locPred, locTargets, clsTargets, out.loss, out.locLoss, out.clsLoss]);
});

Deno.test("multiboxLoss() rejects mismatched shapes and float class targets", () => {
  const l = tf.zeros([1, 3, 4]) as tf.Tensor3D, g = tf.zeros([1, 3, 2]) as tf.Tensor3D;
  assert.throws(
    () =>
      multiboxLoss({ locPred: l, clsLogits: g }, {
        locTargets: l,
        clsTargets: tf.zeros([1, 2], "int32"),
      }),
    /clsTargets must have shape \[1,3\], got \[1,2\]/,
  );
  assert.throws(
    () =>
      multiboxLoss({ locPred: l, clsLogits: g }, { locTargets: l, clsTargets: tf.zeros([1, 3]) }),
    /must be int32/,
  );
  tf.dispose([l, g]);
});

Deno.test("multiboxLoss() leaves no tensors behind, with and without gradients", () => {
  const c = (fx.cases as LossCase[]).find((x) => x.gradLoc)!;
  const { priors, locPred, clsLogits, targets } = caseTensors(c);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    const out = multiboxLoss({ locPred, clsLogits }, targets);
    tf.dispose([out.loss, out.locLoss, out.clsLoss]);
    const grads = tf.grads((l: tf.Tensor, g: tf.Tensor) =>
      multiboxLoss({ locPred: l as tf.Tensor3D, clsLogits: g as tf.Tensor3D }, targets).loss
    )([locPred, clsLogits]);
    tf.dispose(grads);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([priors, locPred, clsLogits, targets.locTargets, targets.clsTargets]);
});

/**
 * The mining rule on plain arrays (the previous, host-side implementation, kept as the
 * reference): `ce [B·P]`, `cls [B·P]` → `[B·P]` weights, 1 on the positives and on the
 * `floor(3 · positives)` negatives of highest loss per image, lower index first on ties, at
 * most as many as there are.
 */
function referenceWeights(ce: Float32Array, cls: Int32Array, b: number, p: number): Float32Array {
  const weights = new Float32Array(b * p);
  for (let k = 0; k < b; k++) {
    const idx = [...Array(p).keys()].map((j) => k * p + j);
    const pos = idx.filter((i) => cls[i] > 0);
    pos.forEach((i) => (weights[i] = 1));
    const neg = idx.filter((i) => cls[i] <= 0).sort((x, y) => ce[y] - ce[x] || x - y);
    neg.slice(0, Math.min(3 * pos.length, neg.length)).forEach((i) => (weights[i] = 1));
  }
  return weights;
}

/** Logits where the negatives' cross-entropies tie in groups, so the 3:1 cut falls in a tie. */
function tieCase() {
  const b = 3, p = 40, c = 3;
  const rows = [[0, 1, -1], [2, 0, 0], [0.5, 0.5, 0.5], [1, -1, 3]]; // few distinct rows
  const positives = [[3, 30, 31], [], [...Array(12).keys()].map((j) => 2 * j + 1)]; // take 9, 0, 28
  const cls = new Int32Array(b * p), logits: number[] = [];
  for (let k = 0; k < b; k++) {
    for (let j = 0; j < p; j++) {
      if (positives[k].includes(j)) cls[k * p + j] = 1 + (j % 2);
      logits.push(...rows[(j * 7 + k) % rows.length]);
    }
  }
  return {
    clsLogits: tf.tensor3d(logits, [b, p, c]),
    locPred: tf.randomNormal([b, p, 4], 0, 1, "float32", 3) as tf.Tensor3D,
    locTargets: tf.randomNormal([b, p, 4], 0, 1, "float32", 4) as tf.Tensor3D,
    clsTargets: tf.tensor2d(cls, [b, p], "int32"),
  };
}

Deno.test("multiboxLoss() mines as the reference: ties taken in index order, capped at the negatives", () => {
  const { clsLogits, locPred, locTargets, clsTargets } = tieCase();
  const [b, p] = clsTargets.shape;
  const cls = clsTargets.dataSync() as Int32Array;
  const ce = tf.tidy(() =>
    tf.neg(tf.sum(tf.mul(tf.logSoftmax(clsLogits), tf.oneHot(clsTargets, 3)), -1)).dataSync()
  ) as Float32Array;
  const weights = referenceWeights(ce, cls, b, p);
  const n = Math.max(1, cls.filter((v) => v > 0).length);
  const want = ce.reduce((s, v, i) => s + v * weights[i], 0) / n;
  const out = multiboxLoss({ locPred, clsLogits }, { locTargets, clsTargets });
  const got = out.clsLoss.dataSync()[0];
  assert.ok(relErr(got, want) <= 1e-5, `clsLoss ${got} vs ${want}`);
  // the chosen priors are exactly those whose logits get a gradient
  const [gCls] = tf.grads((g: tf.Tensor) =>
    multiboxLoss({ locPred, clsLogits: g as tf.Tensor3D }, { locTargets, clsTargets }).loss
  )([clsLogits]);
  const g = gCls.dataSync();
  for (let i = 0; i < b * p; i++) {
    const chosen = g[i * 3] !== 0 || g[i * 3 + 1] !== 0 || g[i * 3 + 2] !== 0;
    assert.equal(chosen, weights[i] === 1, `prior ${i % p} of image ${Math.floor(i / p)}`);
  }
  tf.dispose([
    clsLogits,
    locPred,
    locTargets,
    clsTargets,
    out.loss,
    out.locLoss,
    out.clsLoss,
    gCls,
  ]);
});

Deno.test("multiboxLoss() and matchTargets() read nothing back synchronously (as on WebGPU)", () => {
  const c = (fx.cases as LossCase[]).find((x) => x.gradLoc)!;
  const { priors, locPred, clsLogits, targets } = caseTensors(c); // reads the priors once
  const engine = tf.engine() as unknown as { readSync: (dataId: unknown) => unknown };
  const readSync = engine.readSync;
  engine.readSync = () => {
    throw new Error("synchronous read");
  };
  let out: tf.Tensor[] = [];
  try {
    const again = matchTargets(
      priors,
      c.gtXyxy.map((b, k) => ({ boxes: b.flat(), labels: c.labels[k] })),
    );
    const loss = multiboxLoss({ locPred, clsLogits }, targets);
    const grads = tf.grads((l: tf.Tensor, g: tf.Tensor) =>
      multiboxLoss({ locPred: l as tf.Tensor3D, clsLogits: g as tf.Tensor3D }, targets).loss
    )([locPred, clsLogits]);
    out = [again.locTargets, again.clsTargets, loss.loss, loss.locLoss, loss.clsLoss, ...grads];
  } finally {
    engine.readSync = readSync;
  }
  assert.ok(relErr(out[2].dataSync()[0], c.locLoss + c.clsLoss) <= 1e-5);
  tf.dispose([priors, locPred, clsLogits, targets.locTargets, targets.clsTargets, ...out]);
});

/** The loss case's matching, loss and gradients, and the ties case's, read with `data()`. */
async function lossResults(): Promise<number[][]> {
  const c = (fx.cases as LossCase[]).find((x) => x.gradLoc)!;
  const flatTargets = c.gtXyxy.map((b, k) => ({ boxes: b.flat(), labels: c.labels[k] }));
  const tensors: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T) => (tensors.push(t), t);
  const priors = keep(tf.tensor2d(c.priorsCxcywh!));
  const t = matchTargets(priors, flatTargets);
  keep(t.locTargets), keep(t.clsTargets);
  const locPred = keep(tf.tensor3d(c.locPred as number[][][]));
  const clsLogits = keep(tf.tensor3d(c.clsLogits as number[][][]));
  const ties = tieCase();
  Object.values(ties).forEach(keep);
  const lossGrads = (o: { locPred: tf.Tensor3D; clsLogits: tf.Tensor3D }, tg: typeof t) => {
    const value = multiboxLoss(o, tg);
    Object.values(value).forEach(keep);
    const grads = tf.grads((l: tf.Tensor, g: tf.Tensor) =>
      multiboxLoss({ locPred: l as tf.Tensor3D, clsLogits: g as tf.Tensor3D }, tg).loss
    )([o.locPred, o.clsLogits]);
    grads.forEach(keep);
    return [value.loss, value.locLoss, value.clsLoss, ...grads];
  };
  const results = [
    t.locTargets,
    t.clsTargets,
    ...lossGrads({ locPred, clsLogits }, t),
    ...lossGrads(ties, { ...ties, matches: [], numPositives: 0 }),
  ];
  const data = await Promise.all(results.map((r) => r.data()));
  tf.dispose(tensors);
  return data.map((d) => Array.from(d as Float32Array | Int32Array));
}

webGpuTest(
  "multiboxLoss() and matchTargets() on webgpu equal cpu (values and gradients)",
  async (cpu) => {
    const c = (fx.cases as LossCase[]).find((x) => x.gradLoc)!;
    const gpu = await lossResults();
    assert.equal(tf.getBackend(), "webgpu");
    gpu.forEach((got, r) => {
      const want = cpu![r];
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) {
        const ok = Object.is(got[i], want[i]) ||
          Math.abs(got[i] - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i]));
        assert.ok(ok, `result ${r}[${i}]: webgpu ${got[i]} vs cpu ${want[i]}`);
      }
    });
    assert.ok(relErr(gpu[2][0], c.locLoss + c.clsLoss) <= 1e-5, "webgpu loss vs torchvision");
  },
  lossResults,
);
