import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { boxIou, cxcywhToXyxy, encodeBoxes } from "../lib/boxes.ts";
import { matchPriors, matchTargets } from "../lib/match.ts";
import { makeRng } from "../lib/data/rng.ts";

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

/**
 * A naive SSDMatcher over `boxIou` and `encodeBoxes` as tensor ops (torchvision's
 * `match_quality_matrix.max(dim=0)`, threshold, then `matches[iou.argmax(dim=1)] = arange(G)`):
 * the reference the plain-JS matcher must equal bit for bit (on the cpu backend, whose `log`
 * is JS's; wasm's differs by an ulp at times).
 */
function referenceTargets(priors: tf.Tensor2D, boxes: number[], labels: number[]) {
  const g = labels.length, p = priors.shape[0];
  const matches = new Array<number>(p).fill(-1);
  const loc = new Float32Array(p * 4), cls = new Array<number>(p).fill(0);
  if (g === 0) return { matches, loc, cls };
  const gt = tf.tensor2d(boxes, [g, 4]);
  const iou = tf.tidy(() => boxIou(gt, cxcywhToXyxy(priors))).arraySync(); // [G][P]
  for (let j = 0; j < p; j++) {
    let best = 0;
    for (let i = 1; i < g; i++) if (iou[i][j] > iou[best][j]) best = i;
    if (iou[best][j] >= 0.5) matches[j] = best;
  }
  for (let i = 0; i < g; i++) matches[iou[i].indexOf(Math.max(...iou[i]))] = i;
  const codes = tf.tidy(() =>
    encodeBoxes(tf.gather(gt, matches.map((m) => Math.max(m, 0))), priors).dataSync()
  );
  matches.forEach((m, j) => {
    if (m < 0) return;
    cls[j] = labels[m];
    loc.set(codes.subarray(j * 4, j * 4 + 4), j * 4);
  });
  gt.dispose();
  return { matches, loc, cls };
}

Deno.test("matchTargets() equals boxIou and encodeBoxes as tensor ops bit for bit, on 8732 priors", () => {
  const priorsData = readF32(new URL(fx.batch.priors, TV));
  const p = priorsData.length / 4;
  const priors = tf.tensor2d(priorsData, [p, 4]);
  const rand = makeRng(7);
  const images = [0, 1, 2, 3, 4, 5].map((k) => {
    const boxes: number[] = [], labels: number[] = [];
    for (let i = 0; i < 2 + 2 * k; i++) {
      const w = 0.01 + rand() * 0.6, h = 0.01 + rand() * 0.6;
      const x1 = rand() * (1 - w), y1 = rand() * (1 - h);
      boxes.push(x1, y1, x1 + w, y1 + h);
      labels.push(1 + i);
    }
    // near-threshold and tie cases: a prior's own box, its upper half (IoU 0.5 up to
    // rounding) and two copies of one box (a tie between ground truths)
    const j = Math.floor(rand() * p);
    const [cx, cy, w, h] = priorsData.subarray(j * 4, j * 4 + 4);
    boxes.push(
      cx - w / 2,
      cy - h / 2,
      cx + w / 2,
      cy + h / 2,
      cx - w / 2,
      cy - h / 2,
      cx + w / 2,
      cy,
    );
    boxes.push(...boxes.slice(0, 4));
    labels.push(50, 51, 52);
    return { boxes, labels };
  });
  const t = matchTargets(priors, images);
  const loc = t.locTargets.dataSync(), cls = t.clsTargets.dataSync();
  images.forEach((im, k) => {
    const want = referenceTargets(priors, im.boxes, im.labels);
    assert.deepEqual(Array.from(t.matches[k]), want.matches, `image ${k} matches`);
    assert.deepEqual(Array.from(cls.subarray(k * p, (k + 1) * p)), want.cls, `image ${k} cls`);
    const got = loc.subarray(k * p * 4, (k + 1) * p * 4);
    for (let i = 0; i < got.length; i++) {
      assert.ok(
        Object.is(got[i], want.loc[i]),
        `image ${k} loc[${i}]: ${got[i]} vs ${want.loc[i]}`,
      );
    }
  });
  tf.dispose([priors, t.locTargets, t.clsTargets]);
});

Deno.test("matchTargets() reads a prior tensor once and still follows a reassigned Variable", () => {
  const priors = tf.tensor2d([[0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 0.5, 0.5]]);
  const gt = [{ boxes: [0.5, 0.5, 1, 1], labels: [1] }];
  const first = matchTargets(priors, gt);
  const again = matchTargets(priors, gt);
  assert.deepEqual(Array.from(again.matches[0]), Array.from(first.matches[0]));
  const v = tf.variable(priors);
  assert.deepEqual(Array.from(matchTargets(v, gt).matches[0]), [-1, 0]);
  v.assign(tf.tensor2d([[0.75, 0.75, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5]]));
  assert.deepEqual(Array.from(matchTargets(v, gt).matches[0]), [0, -1]);
  priors.dispose();
  assert.throws(() => matchTargets(priors, gt), /disposed/);
  tf.dispose([first.locTargets, first.clsTargets, again.locTargets, again.clsTargets, v]);
});

Deno.test("matchTargets() with numClasses refuses a label the model cannot predict", () => {
  const priors = tf.tensor2d([[0.5, 0.5, 0.5, 0.5]]);
  const gt = { boxes: [0.25, 0.25, 0.75, 0.75], labels: [3] };
  assert.throws(
    () => matchTargets(priors, [gt], { numClasses: 3 }),
    /labels must be integers in 1…2 \(0 is background\), got 3/,
  );
  const ok = matchTargets(priors, [gt], { numClasses: 4 });
  assert.deepEqual(Array.from(ok.clsTargets.dataSync()), [3]);
  tf.dispose([priors, ok.locTargets, ok.clsTargets]);
});
