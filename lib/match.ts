/**
 * Matching of ground-truth boxes to priors and the training targets that follow, with
 * torchvision `SSDMatcher` semantics (SSD paper §2.2 "Matching strategy"):
 * 1. every prior takes the ground truth of highest IoU (the first on ties) if that IoU is
 *    ≥ `iouThreshold`, else it is background;
 * 2. then every ground truth is forced onto its best prior (the first on ties), whatever the
 *    IoU; when two ground truths share a best prior the later one wins.
 * An image without ground truth (G = 0) is all background.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { boxIou, cxcywhToXyxy, encodeBoxes } from "./boxes.ts";

/** The ground truth of one image. */
export interface GroundTruth {
  /** `[G, 4]` flattened, `xyxy` normalized. */
  boxes: ArrayLike<number>;
  /** `[G]` class indices, 1 … C − 1 (0 is background). */
  labels: ArrayLike<number>;
}

/** Options of the matcher. */
export interface MatchOptions {
  /** A prior is positive when its best IoU is ≥ this. Default 0.5. */
  iouThreshold?: number;
  /** Box coding variances `[center, size]`. Default `[0.1, 0.2]`. */
  variances?: [number, number];
}

/** The targets of a batch, ready for {@link multiboxLoss}. The caller owns the tensors. */
export interface MatchedTargets {
  /** `[B, P, 4]` float32: encoded offsets of the matched ground truth; 0 on background. */
  locTargets: tf.Tensor3D;
  /** `[B, P]` int32: the matched ground truth's label; 0 = background. */
  clsTargets: tf.Tensor2D;
  /** Per image, `[P]` int32: index of the matched ground truth, −1 for background. */
  matches: Int32Array[];
  /** Matched priors over the whole batch. */
  numPositives: number;
}

/** SSDMatcher on an IoU matrix `[G, P]` (row-major) → `[P]` gt index or −1. */
function matchIou(iou: ArrayLike<number>, g: number, p: number, threshold: number): Int32Array {
  const matches = new Int32Array(p).fill(-1);
  if (g === 0) return matches;
  for (let j = 0; j < p; j++) {
    let best = 0, bestIou = iou[j];
    for (let i = 1; i < g; i++) {
      if (iou[i * p + j] > bestIou) (bestIou = iou[i * p + j]), (best = i);
    }
    if (bestIou >= threshold) matches[j] = best;
  }
  for (let i = 0; i < g; i++) {
    let best = 0, bestIou = iou[i * p];
    for (let j = 1; j < p; j++) {
      if (iou[i * p + j] > bestIou) (bestIou = iou[i * p + j]), (best = j);
    }
    matches[best] = i; // later ground truths overwrite earlier ones, as torchvision's index_put
  }
  return matches;
}

function checkPriors(priorsCxcywh: tf.Tensor2D): void {
  if (priorsCxcywh.rank !== 2 || priorsCxcywh.shape[1] !== 4) {
    throw new TypeError(
      `Cannot match priors: priorsCxcywh must have shape [P, 4], got [${priorsCxcywh.shape}]`,
    );
  }
}

/**
 * Matches the ground truth of one image: `gtXyxy [G, 4]` `xyxy`, `priorsCxcywh [P, 4]` →
 * `[P]` int32, the index of each prior's ground truth or −1 (background).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { matchPriors } from "./match.ts";
 * const priors = tf.tensor2d([[0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 0.5, 0.5], [0.5, 0.5, 1, 1]]);
 * const gt = tf.tensor2d([[0, 0, 0.5, 0.25]]); // IoU 0.5 with prior 0
 * assert.deepEqual(Array.from(matchPriors(gt, priors)), [0, -1, -1]);
 * ```
 */
export function matchPriors(
  gtXyxy: tf.Tensor2D,
  priorsCxcywh: tf.Tensor2D,
  options: MatchOptions = {},
): Int32Array {
  checkPriors(priorsCxcywh);
  if (gtXyxy.rank !== 2 || gtXyxy.shape[1] !== 4) {
    throw new TypeError(
      `Cannot match priors: gtXyxy must have shape [G, 4], got [${gtXyxy.shape}]`,
    );
  }
  const [g, p] = [gtXyxy.shape[0], priorsCxcywh.shape[0]];
  if (g === 0) return new Int32Array(p).fill(-1);
  const iou = tf.tidy(() => boxIou(gtXyxy, cxcywhToXyxy(priorsCxcywh)));
  try {
    return matchIou(iou.dataSync(), g, p, options.iouThreshold ?? 0.5);
  } finally {
    iou.dispose();
  }
}

/**
 * Matches a batch and builds the loss targets: `priorsCxcywh [P, 4]` and one
 * {@link GroundTruth} per image → `locTargets [B, P, 4]` (offsets encoded with the variances,
 * 0 on background) and `clsTargets [B, P]` (0 = background). A degenerate (zero-width) ground
 * truth that gets matched encodes to −Infinity, as in torchvision: filter such boxes first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { matchTargets } from "./match.ts";
 * const priors = tf.tensor2d([[0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 0.5, 0.5]]);
 * const t = matchTargets(priors, [
 *   { boxes: [0.5, 0.5, 1, 1], labels: [3] },
 *   { boxes: [], labels: [] }, // G = 0
 * ]);
 * assert.deepEqual(t.locTargets.shape, [2, 2, 4]);
 * assert.deepEqual(Array.from(t.clsTargets.dataSync()), [0, 3, 0, 0]);
 * assert.equal(t.numPositives, 1);
 * t.locTargets.dispose();
 * t.clsTargets.dispose();
 * ```
 */
export function matchTargets(
  priorsCxcywh: tf.Tensor2D,
  targets: GroundTruth[],
  options: MatchOptions = {},
): MatchedTargets {
  checkPriors(priorsCxcywh);
  const p = priorsCxcywh.shape[0], b = targets.length;
  targets.forEach((t, k) => {
    if (t.boxes.length !== 4 * t.labels.length) {
      throw new TypeError(
        `Cannot match priors: targets[${k}] has ${
          t.boxes.length / 4
        } boxes and ${t.labels.length} labels`,
      );
    }
    for (let i = 0; i < t.labels.length; i++) {
      if (!(t.labels[i] >= 1) || !Number.isInteger(t.labels[i])) {
        throw new RangeError(
          `Cannot match priors: targets[${k}].labels must be integers ≥ 1 (0 is background), got ${
            t.labels[i]
          }`,
        );
      }
    }
  });
  const priorsXyxy = tf.tidy(() => cxcywhToXyxy(priorsCxcywh)); // [P, 4]
  try {
    const priorsXyxyData = priorsXyxy.dataSync();
    const matchedGt = new Float32Array(b * p * 4); // [B, P, 4] xyxy; the prior itself on background
    const cls = new Int32Array(b * p);
    const matches: Int32Array[] = [];
    let numPositives = 0;
    for (let k = 0; k < b; k++) {
      const { boxes, labels } = targets[k];
      const g = labels.length;
      let m: Int32Array;
      if (g === 0) m = new Int32Array(p).fill(-1);
      else {
        const iou = tf.tidy(() =>
          boxIou(tf.tensor2d(Float32Array.from(boxes), [g, 4]), priorsXyxy)
        );
        m = matchIou(iou.dataSync(), g, p, options.iouThreshold ?? 0.5);
        iou.dispose();
      }
      matches.push(m);
      for (let j = 0; j < p; j++) {
        const o = (k * p + j) * 4;
        if (m[j] >= 0) {
          numPositives++;
          cls[k * p + j] = labels[m[j]];
          for (let c = 0; c < 4; c++) matchedGt[o + c] = boxes[m[j] * 4 + c];
        } else {
          for (let c = 0; c < 4; c++) matchedGt[o + c] = priorsXyxyData[j * 4 + c];
        }
      }
    }
    const locTargets = tf.tidy(() => {
      const codes = encodeBoxes(tf.tensor3d(matchedGt, [b, p, 4]), priorsCxcywh, options);
      const positive = tf.tile(tf.greater(tf.tensor3d(cls, [b, p, 1], "int32"), 0), [1, 1, 4]);
      return tf.where(positive, codes, tf.zerosLike(codes)) as tf.Tensor3D;
    });
    return { locTargets, clsTargets: tf.tensor2d(cls, [b, p], "int32"), matches, numPositives };
  } finally {
    priorsXyxy.dispose();
  }
}
