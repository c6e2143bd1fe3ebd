/**
 * The MultiBox loss (SSD paper eq. 1) with hard negative mining, as torchvision's
 * `SSD.compute_loss`:
 * - localization: smooth L1 (β = 1) between predicted and target offsets, summed over the
 *   positive priors;
 * - confidence: softmax cross-entropy summed over the positives and, per image, the
 *   `negPosRatio · positives` negatives of highest cross-entropy (hard negative mining);
 * - both divided by N = max(1, positives in the batch), so an image or batch without ground
 *   truth gives a finite loss (its negatives are not mined: 3 · 0 = 0).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { HeadOutputs } from "./model/heads.ts";

/** The matcher's targets (see `matchTargets`). */
export interface LossTargets {
  /** `[B, P, 4]` encoded offsets; read only where `clsTargets > 0`. */
  locTargets: tf.Tensor3D;
  /** `[B, P]` int32 labels, 0 = background. */
  clsTargets: tf.Tensor2D;
}

/** Options of {@link multiboxLoss}. */
export interface LossOptions {
  /** Hard negatives per positive. Default 3 (the paper; torchvision's positive_fraction 0.25). */
  negPosRatio?: number;
}

/** The loss terms, scalars owned by the caller. `loss = locLoss + clsLoss`. */
export interface LossTerms {
  /** `[]` float32: `locLoss + clsLoss`, the value to minimize. */
  loss: tf.Scalar;
  /** `[]` float32: smooth L1 over the positives' offsets, divided by N. */
  locLoss: tf.Scalar;
  /** `[]` float32: cross-entropy over the positives and mined negatives, divided by N. */
  clsLoss: tf.Scalar;
}

/**
 * Hard negative mining on the device: `ce [B, P]` cross-entropies, `positive [B, P]` bool →
 * `[B, P]` float32 weights, 1 on the positives and on the chosen negatives, else 0. Per image
 * the `floor(negPosRatio · positives)` negatives of highest loss are taken, the lower index
 * first among equal losses, at most as many as there are (torchvision would then also count
 * some positives twice; with real prior sets, where positives are far fewer than a quarter of
 * the priors, the two agree).
 *
 * No value is read back: the k-th highest negative loss of each image comes from a full
 * descending `topk`, every negative above it is taken, and of those equal to it the first
 * `k − above` in index order (a running count). The choice is a constant for the gradient.
 */
function hardExampleWeights(
  ce: tf.Tensor2D,
  positive: tf.Tensor2D,
  negPosRatio: number,
): tf.Tensor2D {
  const [b, p] = ce.shape;
  const select = tf.customGrad((...inputs) => {
    const lossPerPrior = inputs[0] as tf.Tensor2D; // the others are tfjs's save function
    const value = tf.tidy(() => {
      const posF = tf.cast(positive, "float32"); // [B, P]
      if (b * p === 0) return posF;
      const zeros = tf.zerosLike(lossPerPrior); // [B, P]
      // [B, 1] → [B, P] by an exact add: wasm compares across a broadcast ~20× slower
      const spread = (t: tf.Tensor) => tf.add(zeros, t);
      // cross-entropies are ≥ 0 (up to rounding), so −1 puts the positives below every
      // negative: they are never above or equal to the k-th loss
      const negLoss = tf.where(positive, tf.fill([b, p], -1), lossPerPrior); // [B, P]
      const numPos = tf.sum(posF, 1, true); // [B, 1]
      const take = tf.minimum(tf.floor(tf.mul(numPos, negPosRatio)), tf.sub(p, numPos)); // [B, 1]
      const sorted = tf.topk(negLoss, p).values; // [B, P] descending
      const position = spread(tf.reshape(tf.range(1, p + 1, 1, "float32"), [1, p])); // [B, P]
      // the smallest loss still taken, sorted[take − 1], as a masked sum (wasm's gather has no
      // batch dimensions); 0 when nothing is taken
      const atKth = tf.equal(position, spread(take));
      const kth = spread(tf.sum(tf.where(atKth, sorted, zeros), 1, true)); // [B, P]
      const above = tf.greater(negLoss, kth); // [B, P]
      const numAbove = tf.sum(tf.cast(above, "float32"), 1, true); // [B, 1]
      const tie = tf.equal(negLoss, kth); // [B, P]
      const tieRank = tf.cumsum(tf.cast(tie, "float32"), 1); // [B, P] 1, 2, … along the ties
      const tieTaken = tf.logicalAnd(tie, tf.lessEqual(tieRank, spread(tf.sub(take, numAbove))));
      const negTaken = tf.mul(
        tf.cast(tf.logicalOr(above, tieTaken), "float32"),
        tf.cast(tf.greater(take, 0), "float32"), // [B, 1]
      );
      return tf.add(posF, negTaken);
    });
    return { value, gradFunc: () => tf.zerosLike(lossPerPrior) };
  });
  return select(ce) as tf.Tensor2D;
}

/**
 * The MultiBox loss of a batch: head outputs `locPred [B, P, 4]`, `clsLogits [B, P, C]` and
 * targets `locTargets [B, P, 4]`, `clsTargets [B, P]` → `{ loss, locLoss, clsLoss }` scalars.
 * Differentiable with respect to the head outputs (the mining choice is a constant), so
 * `tf.variableGrads(() => multiboxLoss(…).loss)` trains. Nothing is read back: the mining
 * runs as tensor ops, so the loss works where synchronous reads do not (WebGPU).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { multiboxLoss } from "./loss.ts";
 * // one image, two priors: prior 0 is a positive of class 1, prior 1 a negative
 * const { loss, locLoss, clsLoss } = multiboxLoss(
 *   { locPred: tf.tensor3d([[[0.5, 0, 0, 2], [9, 9, 9, 9]]]), clsLogits: tf.zeros([1, 2, 2]) },
 *   { locTargets: tf.zeros([1, 2, 4]), clsTargets: tf.tensor2d([[1, 0]], [1, 2], "int32") },
 * );
 * // smooth L1: 0.5·0.5² + (2 − 0.5) = 1.625; CE: two priors at log 2
 * assert.ok(Math.abs(locLoss.dataSync()[0] - 1.625) < 1e-6);
 * assert.ok(Math.abs(clsLoss.dataSync()[0] - 2 * Math.LN2) < 1e-6);
 * assert.ok(Math.abs(loss.dataSync()[0] - (1.625 + 2 * Math.LN2)) < 1e-6);
 * ```
 */
export function multiboxLoss(
  outputs: HeadOutputs,
  targets: LossTargets,
  options: LossOptions = {},
): LossTerms {
  const { locPred, clsLogits } = outputs;
  const { locTargets, clsTargets } = targets;
  if (clsLogits.rank !== 3) {
    throw new TypeError(
      `Cannot compute the loss: clsLogits must have shape [B, P, C], got [${clsLogits.shape}]`,
    );
  }
  const [b, p, c] = clsLogits.shape;
  const expect = (name: string, t: tf.Tensor, shape: number[]) => {
    if (t.shape.join() !== shape.join()) {
      throw new TypeError(
        `Cannot compute the loss: ${name} must have shape [${shape}], got [${t.shape}]`,
      );
    }
  };
  expect("locPred", locPred, [b, p, 4]);
  expect("locTargets", locTargets, [b, p, 4]);
  expect("clsTargets", clsTargets, [b, p]);
  if (clsTargets.dtype !== "int32") {
    throw new TypeError(
      `Cannot compute the loss: clsTargets must be int32, got ${clsTargets.dtype}`,
    );
  }
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(clsLogits); // [B, P, C]
    const oneHot = tf.reshape(tf.oneHot(tf.reshape(clsTargets, [b * p]) as tf.Tensor1D, c), [
      b,
      p,
      c,
    ]);
    const ce = tf.neg(tf.sum(tf.mul(logProbs, oneHot), -1)) as tf.Tensor2D; // [B, P] per prior
    const positive = tf.greater(clsTargets, 0) as tf.Tensor2D; // [B, P] bool
    const weights = hardExampleWeights(ce, positive, options.negPosRatio ?? 3); // [B, P]
    const n = tf.maximum(tf.sum(tf.cast(positive, "float32")), 1); // N = max(1, positives)
    const clsLoss = tf.div(tf.sum(tf.mul(ce, weights)), n) as tf.Scalar;
    const positive4 = tf.tile(tf.expandDims(positive, 2), [1, 1, 4]); // [B, P, 4]
    const diff = tf.where(positive4, tf.sub(locPred, locTargets), tf.zerosLike(locPred));
    const absDiff = tf.abs(diff);
    // smooth L1 (β = 1): 0.5·x² below 1, |x| − 0.5 above, written with min() so that it has
    // a gradient everywhere in tfjs (a comparison op on the tape has none)
    const small = tf.minimum(absDiff, 1);
    const smoothL1 = tf.add(tf.mul(tf.square(small), 0.5), tf.sub(absDiff, small));
    const locLoss = tf.div(tf.sum(smoothL1), n) as tf.Scalar;
    return { loss: tf.add(locLoss, clsLoss) as tf.Scalar, locLoss, clsLoss };
  });
}
