import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { matchPriors, matchTargets } from "../lib/match.ts";

await tf.setBackend("cpu");

// torchvision 0.14 SSDMatcher(0.5) and compute_loss's targets; see fixtures/torchvision/make_fixtures.py.
const TV = new URL("../fixtures/torchvision/", import.meta.url);
// Non-finite targets (a matched zero-width or inverted box) are stored as strings.
const NON_FINITE: Record<string, number> = { Infinity, "-Infinity": -Infinity, NaN };
const fx = JSON.parse(
  Deno.readTextFileSync(new URL("match.json", TV)),
  (_k, v) => typeof v === "string" && v in NON_FINITE ? NON_FINITE[v] : v,
);

function readF32(url: URL): Float32Array {
  const bytes = Deno.readFileSync(url);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function assertClose(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i])) {
      assert.ok(Object.is(got[i], want[i]), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
      continue;
    }
    const err = Math.abs(got[i] - want[i]);
    assert.ok(
      err <= tol * Math.max(1, Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

interface MatchCase {
  name: string;
  priorsCxcywh: number[][];
  gtXyxy: number[][];
  labels: number[];
  matches: number[];
  locTargets: number[][];
  clsTargets: number[];
}

for (const c of fx.cases as MatchCase[]) {
  Deno.test(`matchPriors() equals torchvision SSDMatcher: ${c.name}`, () => {
    const priors = tf.tensor2d(c.priorsCxcywh);
    const gt = tf.tensor2d(c.gtXyxy.flat(), [c.gtXyxy.length, 4]);
    assert.deepEqual(Array.from(matchPriors(gt, priors)), c.matches);
    tf.dispose([priors, gt]);
  });
  Deno.test(`matchTargets() gives torchvision's loss targets: ${c.name}`, () => {
    const priors = tf.tensor2d(c.priorsCxcywh);
    const t = matchTargets(priors, [{ boxes: c.gtXyxy.flat(), labels: c.labels }]);
    assert.deepEqual(Array.from(t.matches[0]), c.matches);
    assert.deepEqual(Array.from(t.clsTargets.dataSync()), c.clsTargets);
    assertClose(t.locTargets.dataSync(), c.locTargets.flat(), 1e-6, "locTargets");
    assert.equal(t.numPositives, c.matches.filter((m) => m >= 0).length);
    tf.dispose([priors, t.locTargets, t.clsTargets]);
  });
}

Deno.test("matchTargets() equals torchvision on a batch against the 8732 ssd300-coco priors", () => {
  const priorsData = readF32(new URL(fx.batch.priors, TV));
  const priors = tf.tensor2d(priorsData, [priorsData.length / 4, 4]);
  const images = fx.batch.images as {
    gtXyxy: number[][];
    labels: number[];
    matches: number[];
    foreground: number[];
    locTargetsForeground: number[][];
  }[];
  const t = matchTargets(
    priors,
    images.map((im) => ({ boxes: im.gtXyxy.flat(), labels: im.labels })),
  );
  const p = priorsData.length / 4;
  assert.deepEqual(t.locTargets.shape, [images.length, p, 4]);
  assert.deepEqual(t.clsTargets.shape, [images.length, p]);
  const loc = t.locTargets.dataSync();
  const cls = t.clsTargets.dataSync();
  images.forEach((im, k) => {
    assert.deepEqual(Array.from(t.matches[k]), im.matches, `image ${k} matches`);
    const fgLoc = im.foreground.flatMap((j) =>
      Array.from(loc.subarray((k * p + j) * 4, (k * p + j + 1) * 4))
    );
    assertClose(fgLoc, im.locTargetsForeground.flat(), 1e-6, `image ${k} locTargets`);
    for (let j = 0; j < p; j++) {
      const m = im.matches[j];
      assert.equal(cls[k * p + j], m >= 0 ? im.labels[m] : 0);
      if (m < 0) { for (let c = 0; c < 4; c++) assert.equal(loc[(k * p + j) * 4 + c], 0); }
    }
  });
  assert.equal(t.numPositives, images.reduce((n, im) => n + im.foreground.length, 0));
  tf.dispose([priors, t.locTargets, t.clsTargets]);
});

Deno.test("matchTargets() rejects label 0 and mismatched boxes/labels", () => {
  const priors = tf.tensor2d([[0.5, 0.5, 0.2, 0.2]]);
  assert.throws(() => matchTargets(priors, [{ boxes: [0, 0, 1, 1], labels: [0] }]), RangeError);
  assert.throws(() => matchTargets(priors, [{ boxes: [0, 0, 1, 1], labels: [1, 2] }]), TypeError);
  assert.throws(
    () => matchPriors(tf.zeros([2, 3]) as tf.Tensor2D, priors),
    /gtXyxy must have shape \[G, 4\], got \[2,3\]/,
  );
  priors.dispose();
});

Deno.test("matchTargets() and matchPriors() leave no tensors behind", () => {
  const c = fx.cases[0] as MatchCase;
  const priors = tf.tensor2d(c.priorsCxcywh);
  const gt = tf.tensor2d(c.gtXyxy);
  const targets = [{ boxes: c.gtXyxy.flat(), labels: c.labels }, { boxes: [], labels: [] }];
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    const t = matchTargets(priors, targets);
    tf.dispose([t.locTargets, t.clsTargets]);
    matchPriors(gt, priors);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([priors, gt]);
});
