import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { decodeBoxes } from "../lib/boxes.ts";
import { batchedNms, nms, postprocessDetections, selectDetections } from "../lib/nms.ts";

await tf.setBackend("cpu");

// torchvision 0.14 ops.nms / batched_nms / SSD.postprocess_detections; see
// fixtures/torchvision/make_fixtures.py. UltraFace: fixtures/ultraface/PROVENANCE.md.
const TV = new URL("../fixtures/torchvision/", import.meta.url);
const UF = new URL("../fixtures/ultraface/", import.meta.url);
const fx = JSON.parse(Deno.readTextFileSync(new URL("nms.json", TV)));

function readF32(url: URL): Float32Array {
  const bytes = Deno.readFileSync(url);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

const boxes = new Float32Array((fx.boxes as number[][]).flat());
const scores = new Float32Array(fx.scores);
const boxOf = (i: number) => Array.from(boxes.subarray(4 * i, 4 * i + 4));

for (const { iouThreshold, keep } of fx.nms as { iouThreshold: number; keep: number[] }[]) {
  Deno.test(`nms() keeps torchvision's boxes in its order at IoU ${iouThreshold}`, () => {
    const ours = Array.from(nms(boxes, scores, { iouThreshold }));
    // exact duplicates (same box, same score) may keep either copy: compare boxes and scores
    assert.deepEqual(ours.map(boxOf), keep.map(boxOf));
    assert.deepEqual(ours.map((i) => scores[i]), keep.map((i) => scores[i]));
  });
}

for (const { iouThreshold, keep } of fx.batched as { iouThreshold: number; keep: number[] }[]) {
  Deno.test(`batchedNms() keeps torchvision's boxes per class at IoU ${iouThreshold}`, () => {
    const ours = Array.from(batchedNms(boxes, scores, { labels: fx.labels, iouThreshold }));
    const key = (i: number) => JSON.stringify([scores[i], fx.labels[i], boxOf(i)]);
    // torchvision orders exact score ties arbitrarily; scores must match position by position
    assert.deepEqual(ours.map((i) => scores[i]), keep.map((i) => scores[i]));
    assert.deepEqual(ours.map(key).sort(), keep.map(key).sort());
  });
}

interface PostCase {
  name: string;
  numClasses: number;
  params: {
    score_thresh: number;
    topk_candidates: number;
    nms_thresh: number;
    detections_per_img: number;
  };
  priors: string;
  locPred: { file: string; shape: [number, number] };
  clsLogits: { file: string; shape: [number, number] };
  boxes: number[][];
  scores: number[];
  labels: number[];
}

for (const c of fx.postprocess as PostCase[]) {
  Deno.test(`postprocessDetections() equals torchvision postprocess_detections: ${c.name}`, async () => {
    const priorsData = readF32(new URL(c.priors, TV));
    const priors = tf.tensor2d(priorsData, [priorsData.length / 4, 4]);
    const locPred = tf.tensor2d(readF32(new URL(c.locPred.file, TV)), c.locPred.shape);
    const clsLogits = tf.tensor2d(readF32(new URL(c.clsLogits.file, TV)), c.clsLogits.shape);
    const d = await postprocessDetections({ locPred, clsLogits }, priors, {
      scoreThreshold: c.params.score_thresh,
      topKPerClass: c.params.topk_candidates,
      nmsIou: c.params.nms_thresh,
      maxDetections: c.params.detections_per_img,
      clipBoxes: true,
    });
    assert.equal(d.scores.length, c.scores.length);
    // same detections: label identical, score and box within 1e-6, compared in a canonical order
    // (exact score ties, made on purpose in the ssdlite case, have no defined order in torch)
    const rows = (n: number, get: (i: number) => [number, number, number[]]) =>
      Array.from({ length: n }, (_, i) => get(i)).sort((a, b) =>
        b[0] - a[0] || a[1] - b[1] || a[2][0] - b[2][0] || a[2][1] - b[2][1]
      );
    const ours = rows(
      d.scores.length,
      (i) => [d.scores[i], d.labels[i], Array.from(d.boxes.subarray(4 * i, 4 * i + 4))],
    );
    const want = rows(c.scores.length, (i) => [c.scores[i], c.labels[i], c.boxes[i]]);
    ours.forEach(([s, l, b], i) => {
      assert.equal(l, want[i][1], `label ${i}`);
      assert.ok(Math.abs(s - want[i][0]) <= 1e-6, `score ${i}: ${s} vs ${want[i][0]}`);
      b.forEach((v, k) =>
        assert.ok(Math.abs(v - want[i][2][k]) <= 1e-6, `box ${i}: ${b} vs ${want[i][2]}`)
      );
    });
    for (let i = 1; i < d.scores.length; i++) assert.ok(d.scores[i] <= d.scores[i - 1]);
    tf.dispose([priors, locPred, clsLogits]);
  });
}

Deno.test("nms() suppresses IoU > threshold only, and keeps the lower index on score ties", () => {
  // box 1 has IoU exactly 0.5 with box 0 (kept at 0.5); boxes 2 and 3 are identical, same score
  const b = new Float32Array([0, 0, 1, 1, 0, 0, 1, 0.5, 2, 2, 3, 3, 2, 2, 3, 3]);
  const s = new Float32Array([0.9, 0.8, 0.7, 0.7]);
  assert.deepEqual(Array.from(nms(b, s, { iouThreshold: 0.5 })), [0, 1, 2]);
  assert.deepEqual(Array.from(nms(b, s, { iouThreshold: 0.49 })), [0, 2]);
  assert.deepEqual(Array.from(nms(b, s, { iouThreshold: 0.5, maxOutput: 2 })), [0, 1]);
  assert.throws(() => nms(b, new Float32Array(3), { iouThreshold: 0.5 }), TypeError);
});

Deno.test("selectDetections() with UltraFace settings reproduces its Predictor (strict >, hard NMS 0.3, +1e-5)", () => {
  const probs = readF32(new URL("1/slim320_scores.bin", UF)); // [4420, 2] softmax
  const decoded = readF32(new URL("1/slim320_boxes.bin", UF)); // [4420, 4] xyxy
  const ref = JSON.parse(Deno.readTextFileSync(new URL("1/slim320_detections.json", UF)));
  for (
    const [thr, r] of Object.entries(ref.thresholds) as [
      string,
      {
        count: number;
        detections: { prior_index: number; box_norm: number[]; score_exact: number }[];
      },
    ][]
  ) {
    const d = selectDetections(decoded, probs, {
      scoreThreshold: Number(thr),
      nmsIou: 0.3,
      iouEps: 1e-5,
      topKPerClass: 1500,
      maxDetections: 750,
      clipBoxes: false,
    });
    assert.equal(d.scores.length, r.count, `threshold ${thr}`);
    assert.deepEqual(Array.from(d.priorIndices), r.detections.map((x) => x.prior_index));
    assert.deepEqual(Array.from(d.boxes), r.detections.flatMap((x) => x.box_norm));
    assert.deepEqual(Array.from(d.scores), r.detections.map((x) => x.score_exact));
  }
});

Deno.test("decodeBoxes() without clamp matches UltraFace's decoded boxes within 1e-6", () => {
  const loc = readF32(new URL("1/slim320_loc.bin", UF));
  const priors = readF32(new URL("priors_cxcywh.bin", UF));
  const want = readF32(new URL("1/slim320_boxes.bin", UF));
  const got = tf.tidy(() =>
    decodeBoxes(tf.tensor2d(loc, [4420, 4]), tf.tensor2d(priors, [4420, 4]), { clampLog: Infinity })
  );
  const g = got.dataSync();
  let maxErr = 0;
  for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(g[i] - want[i]));
  assert.ok(maxErr <= 1e-6, `max error ${maxErr}`);
  got.dispose();
});

Deno.test("postprocessDetections() leaves no tensors behind", async () => {
  const priors = tf.tensor2d([[0.3, 0.3, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2]]);
  const locPred = tf.zeros([2, 4]) as tf.Tensor2D;
  const clsLogits = tf.tensor2d([[0, 5, 1], [5, 0, 2]]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    await postprocessDetections({ locPred, clsLogits }, priors, {
      scoreThreshold: 0.01,
      nmsIou: 0.45,
      topKPerClass: 400,
      maxDetections: 200,
      clipBoxes: true,
    });
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([priors, locPred, clsLogits]);
});

Deno.test("selectDetections() of no priors is no detections", () => {
  const d = selectDetections(new Float32Array(0), new Float32Array(0), {
    scoreThreshold: 0.01,
    nmsIou: 0.45,
    topKPerClass: 400,
    maxDetections: 200,
    clipBoxes: true,
  });
  assert.equal(d.scores.length, 0);
  assert.equal(d.boxes.length, 0);
});
