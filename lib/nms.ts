/**
 * Non-maximum suppression and the detection post-processing of torchvision's
 * `SSD.postprocess_detections`: softmax, per class `score > scoreThreshold`, the
 * `topKPerClass` best candidates, decode, clip, per-class NMS (suppress IoU > `nmsIou`), then
 * the `maxDetections` best.
 *
 * NMS runs over typed arrays with float32 arithmetic (`Math.fround` at every step, as
 * torchvision's CPU kernel), so the kept boxes are the same as torchvision's. Exact score
 * ties are ordered by lower index first (a stable sort); torchvision's CPU sorts are not
 * stable, so among exact ties its order is unspecified, and the kept set can differ from ours
 * only when two tied boxes overlap above the threshold and are not identical.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Postprocess } from "./config.ts";
import { decodeBoxes } from "./boxes.ts";

const f = Math.fround;

/** Options of {@link nms} and {@link batchedNms}. */
export interface NmsOptions {
  /** Suppress a box whose IoU with a kept box is > this. */
  iouThreshold: number;
  /** Added to the IoU denominator: 0 (torchvision, default) or 1e-5 (UltraFace `iou_of`). */
  iouEps?: number;
  /** Stop after this many kept boxes (UltraFace `top_k`). Default: no limit. */
  maxOutput?: number;
}

/** Indices `0…n−1` sorted by score descending, lower index first on ties. */
function orderByScore(scores: ArrayLike<number>, indices?: number[]): number[] {
  const order = indices ?? Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b] - scores[a] || a - b);
}

/** Greedy NMS over the given candidate indices, already in score order. */
function greedyNms(boxes: ArrayLike<number>, order: number[], options: NmsOptions): number[] {
  const eps = f(options.iouEps ?? 0);
  const maxOutput = options.maxOutput ?? Infinity;
  const area = (i: number) =>
    f(f(boxes[4 * i + 2] - boxes[4 * i]) * f(boxes[4 * i + 3] - boxes[4 * i + 1]));
  const areas = order.map(area);
  const suppressed = new Uint8Array(order.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length && keep.length < maxOutput; a++) {
    if (suppressed[a]) continue;
    const i = order[a];
    keep.push(i);
    const [ix1, iy1, ix2, iy2] = [
      boxes[4 * i],
      boxes[4 * i + 1],
      boxes[4 * i + 2],
      boxes[4 * i + 3],
    ];
    for (let c = a + 1; c < order.length; c++) {
      if (suppressed[c]) continue;
      const j = order[c];
      const w = Math.max(0, f(Math.min(ix2, boxes[4 * j + 2]) - Math.max(ix1, boxes[4 * j])));
      const h = Math.max(0, f(Math.min(iy2, boxes[4 * j + 3]) - Math.max(iy1, boxes[4 * j + 1])));
      const inter = f(w * h);
      const iou = f(inter / f(f(f(areas[a] + areas[c]) - inter) + eps));
      if (iou > options.iouThreshold) suppressed[c] = 1;
    }
  }
  return keep;
}

function checkNmsInputs(boxes: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (boxes.length !== 4 * scores.length) {
    throw new TypeError(
      `Cannot run NMS: boxes must have shape [N, 4] for ${scores.length} scores, got ${boxes.length} values`,
    );
  }
}

/**
 * Greedy NMS: `boxesXyxy [N, 4]` flattened `xyxy`, `scores [N]` → indices of the kept boxes,
 * by score descending. A box is suppressed by a kept box of higher score when their IoU is
 * `> iouThreshold` (torchvision `ops.nms`; UltraFace `hard_nms` with `iouEps: 1e-5`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nms } from "./nms.ts";
 * const boxes = new Float32Array([0, 0, 1, 1, 0, 0, 1, 0.5, 0, 0.5, 1, 1]);
 * // boxes 1 and 2 each have IoU 0.5 with box 0
 * assert.deepEqual(Array.from(nms(boxes, new Float32Array([0.9, 0.8, 0.7]), { iouThreshold: 0.5 })), [0, 1, 2]);
 * assert.deepEqual(Array.from(nms(boxes, new Float32Array([0.9, 0.8, 0.7]), { iouThreshold: 0.4 })), [0]);
 * ```
 */
export function nms(
  boxesXyxy: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: NmsOptions,
): Int32Array {
  checkNmsInputs(boxesXyxy, scores);
  return Int32Array.from(greedyNms(boxesXyxy, orderByScore(scores), options));
}

/**
 * NMS within each class: `boxesXyxy [N, 4]` flattened, `scores [N]`, `labels [N]` → kept
 * indices by score descending (lower index first on ties). Boxes of different labels never
 * suppress each other (torchvision `ops.batched_nms`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchedNms } from "./nms.ts";
 * const boxes = new Float32Array([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
 * const keep = batchedNms(boxes, new Float32Array([0.5, 0.9, 0.7]), {
 *   labels: new Int32Array([1, 2, 1]),
 *   iouThreshold: 0.5,
 * });
 * assert.deepEqual(Array.from(keep), [1, 2]);
 * ```
 */
export function batchedNms(
  boxesXyxy: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: NmsOptions & { labels: ArrayLike<number> },
): Int32Array {
  checkNmsInputs(boxesXyxy, scores);
  if (options.labels.length !== scores.length) {
    throw new TypeError(
      `Cannot run NMS: labels must have shape [${scores.length}], got [${options.labels.length}]`,
    );
  }
  const byLabel = new Map<number, number[]>();
  for (const i of orderByScore(scores)) {
    const l = options.labels[i];
    if (!byLabel.has(l)) byLabel.set(l, []);
    byLabel.get(l)!.push(i);
  }
  const keep: number[] = [];
  for (const order of byLabel.values()) {
    keep.push(...greedyNms(boxesXyxy, order, { ...options, maxOutput: undefined }));
  }
  const sorted = orderByScore(scores, keep);
  return Int32Array.from(
    options.maxOutput === undefined ? sorted : sorted.slice(0, options.maxOutput),
  );
}

/** Detections of one image, sorted by score descending. */
export interface Detections {
  /** `[N, 4]` flattened, `xyxy` normalized. */
  boxes: Float32Array;
  /** `[N]` class probabilities. */
  scores: Float32Array;
  /** `[N]` class indices, 1 … C − 1. */
  labels: Int32Array;
  /** `[N]` the prior each detection came from. */
  priorIndices: Int32Array;
}

/** Post-processing settings: a config's `postprocess` plus the box coding. */
export interface PostprocessOptions extends Postprocess {
  /** Box coding variances. Default `[0.1, 0.2]`. */
  variances?: [number, number];
  /** Decode clamp of dw, dh (see `decodeBoxes`). Default log(1000/16); `Infinity` for UltraFace. */
  clampLog?: number;
  /** Added to the NMS IoU denominator (UltraFace 1e-5). Default 0. */
  iouEps?: number;
}

/**
 * The selection half of post-processing on plain arrays: decoded `boxesXyxy [P, 4]` and class
 * probabilities `scores [P, C]` (row-major, column 0 = background) → {@link Detections}.
 * Clips boxes to [0, 1] when `clipBoxes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectDetections } from "./nms.ts";
 * const boxes = new Float32Array([0.1, 0.1, 0.5, 0.5, 0.12, 0.1, 0.5, 0.5, -0.1, 0.6, 0.3, 0.9]);
 * const scores = new Float32Array([0.1, 0.9, 0.2, 0.8, 0.4, 0.6]); // [P = 3, C = 2]
 * const d = selectDetections(boxes, scores, {
 *   scoreThreshold: 0.01, nmsIou: 0.45, topKPerClass: 400, maxDetections: 200, clipBoxes: true,
 * });
 * assert.deepEqual(Array.from(d.labels), [1, 1]); // prior 1 suppressed by prior 0
 * assert.deepEqual(Array.from(d.priorIndices), [0, 2]);
 * assert.equal(d.boxes[4], 0); // clipped
 * ```
 */
export function selectDetections(
  boxesXyxy: Float32Array,
  scores: Float32Array,
  options: PostprocessOptions,
): Detections {
  const p = boxesXyxy.length / 4;
  if (
    !Number.isInteger(p) || (p > 0 && scores.length % p !== 0) || (p === 0 && scores.length !== 0)
  ) {
    throw new TypeError(
      `Cannot select detections: boxes [P, 4] and scores [P, C] disagree, got ${boxesXyxy.length} and ${scores.length} values`,
    );
  }
  const c = p === 0 ? 0 : scores.length / p;
  const boxes = options.clipBoxes ? boxesXyxy.map((v) => Math.min(1, Math.max(0, v))) : boxesXyxy;
  const candPrior: number[] = [], candLabel: number[] = [], candScore: number[] = [];
  for (let label = 1; label < c; label++) {
    const above: number[] = [];
    for (let j = 0; j < p; j++) if (scores[j * c + label] > options.scoreThreshold) above.push(j);
    const top = above.sort((a, b) => scores[b * c + label] - scores[a * c + label] || a - b)
      .slice(0, options.topKPerClass);
    for (const j of top) {
      candPrior.push(j), candLabel.push(label), candScore.push(scores[j * c + label]);
    }
  }
  const candBoxes = new Float32Array(candPrior.length * 4);
  candPrior.forEach((j, i) => candBoxes.set(boxes.subarray(4 * j, 4 * j + 4), 4 * i));
  const keep = batchedNms(candBoxes, candScore, {
    labels: candLabel,
    iouThreshold: options.nmsIou,
    iouEps: options.iouEps,
    maxOutput: options.maxDetections,
  });
  const out: Detections = {
    boxes: new Float32Array(keep.length * 4),
    scores: new Float32Array(keep.length),
    labels: new Int32Array(keep.length),
    priorIndices: new Int32Array(keep.length),
  };
  keep.forEach((k, i) => {
    out.boxes.set(candBoxes.subarray(4 * k, 4 * k + 4), 4 * i);
    out.scores[i] = candScore[k];
    out.labels[i] = candLabel[k];
    out.priorIndices[i] = candPrior[k];
  });
  return out;
}

/**
 * Post-processing of one image's head outputs: `locPred [P, 4]` offsets and
 * `clsLogits [P, C]` logits, with `priorsCxcywh [P, 4]` → {@link Detections} (`xyxy`
 * normalized, by score descending). Softmax and decode run as tfjs ops; the inputs are not
 * disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { postprocessDetections } from "./nms.ts";
 * const priors = tf.tensor2d([[0.3, 0.3, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2]]);
 * const d = await postprocessDetections(
 *   { locPred: tf.zeros([2, 4]), clsLogits: tf.tensor2d([[0, 5], [5, 0]]) },
 *   priors,
 *   { scoreThreshold: 0.5, nmsIou: 0.45, topKPerClass: 400, maxDetections: 200, clipBoxes: true },
 * );
 * assert.deepEqual(Array.from(d.priorIndices), [0]);
 * assert.deepEqual(Array.from(d.boxes).map((v) => +v.toFixed(6)), [0.2, 0.2, 0.4, 0.4]);
 * ```
 */
export async function postprocessDetections(
  outputs: { locPred: tf.Tensor2D; clsLogits: tf.Tensor2D },
  priorsCxcywh: tf.Tensor2D,
  options: PostprocessOptions,
): Promise<Detections> {
  const { locPred, clsLogits } = outputs;
  if (clsLogits.rank !== 2 || clsLogits.shape[0] !== priorsCxcywh.shape[0]) {
    throw new TypeError(
      `Cannot post-process: clsLogits must have shape [${
        priorsCxcywh.shape[0]
      }, C], got [${clsLogits.shape}]`,
    );
  }
  const [boxes, probs] = tf.tidy(() => [
    decodeBoxes(locPred, priorsCxcywh, options),
    tf.softmax(clsLogits),
  ]);
  try {
    const [boxData, probData] = await Promise.all([boxes.data(), probs.data()]);
    return selectDetections(boxData as Float32Array, probData as Float32Array, options);
  } finally {
    boxes.dispose();
    probs.dispose();
  }
}
