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

/** The network's raw outputs for a batch. */
export interface HeadOutputs {
  /** `[B, P, 4]` predicted offsets `(dx, dy, dw, dh)`. */
  locPred: tf.Tensor3D;
  /** `[B, P, C]` class logits (index 0 = background). */
  clsLogits: tf.Tensor3D;
}

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
  loss: tf.Scalar;
  locLoss: tf.Scalar;
  clsLoss: tf.Scalar;
}

/**
 * Hard negative mining on plain arrays: `ce [B·P]` cross-entropies, `cls [B·P]` labels →
 * `[B·P]` weights, 1 on positives and on the chosen negatives. Per image the negatives of
 * highest loss are taken, the lower index first among equal losses, at most as many as there
 * are (torchvision would then also count some positives twice; with real prior sets, where
 * positives are far fewer than a quarter of the priors, the two agree).
 */
function mineHardNegatives(
  ce: Float32Array,
  cls: Int32Array,
  shape: [number, number],
  negPosRatio: number,
): { weights: Float32Array; numPositives: number } {
  const [b, p] = shape;
  const weights = new Float32Array(b * p);
  let numPositives = 0;
  for (let k = 0; k < b; k++) {
    const off = k * p;
    let pos = 0;
    for (let j = 0; j < p; j++) if (cls[off + j] > 0) (weights[off + j] = 1), pos++;
    numPositives += pos;
    const negLosses: number[] = [];
    for (let j = 0; j < p; j++) if (cls[off + j] <= 0) negLosses.push(ce[off + j]);
    const take = Math.min(Math.floor(negPosRatio * pos), negLosses.length);
    if (take === 0) continue;
    const sorted = Float32Array.from(negLosses).sort(); // ascending
    const kth = sorted[sorted.length - take]; // the smallest loss still taken
    let above = 0;
    for (let i = sorted.length - take; i < sorted.length; i++) if (sorted[i] > kth) above++;
    let ties = take - above; // negatives equal to kth to take, in index order
    for (let j = 0; j < p; j++) {
      if (cls[off + j] > 0) continue;
      const v = ce[off + j];
      if (v > kth) weights[off + j] = 1;
      else if (v === kth && ties > 0) (weights[off + j] = 1), ties--;
    }
  }
  return { weights, numPositives };
}

/**
 * The MultiBox loss of a batch: head outputs `locPred [B, P, 4]`, `clsLogits [B, P, C]` and
 * targets `locTargets [B, P, 4]`, `clsTargets [B, P]` → `{ loss, locLoss, clsLoss }` scalars.
 * Differentiable with respect to the head outputs (the mining choice is a constant), so
 * `tf.variableGrads(() => multiboxLoss(…).loss)` trains. Reads the cross-entropies back
 * synchronously to mine the negatives.
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
    const ce = tf.neg(tf.sum(tf.mul(logProbs, oneHot), -1)); // [B, P] cross-entropy of each prior
    const { weights, numPositives } = mineHardNegatives(
      ce.dataSync() as Float32Array,
      clsTargets.dataSync() as Int32Array,
      [b, p],
      options.negPosRatio ?? 3,
    );
    const n = Math.max(1, numPositives);
    const clsLoss = tf.div(tf.sum(tf.mul(ce, tf.tensor2d(weights, [b, p]))), n) as tf.Scalar;
    const positive = tf.tile(tf.expandDims(tf.greater(clsTargets, 0), 2), [1, 1, 4]); // [B, P, 4]
    const diff = tf.where(positive, tf.sub(locPred, locTargets), tf.zerosLike(locPred));
    const absDiff = tf.abs(diff);
    // smooth L1 (β = 1): 0.5·x² below 1, |x| − 0.5 above, written with min() so that it has
    // a gradient everywhere in tfjs (a comparison op on the tape has none)
    const small = tf.minimum(absDiff, 1);
    const smoothL1 = tf.add(tf.mul(tf.square(small), 0.5), tf.sub(absDiff, small));
    const locLoss = tf.div(tf.sum(smoothL1), n) as tf.Scalar;
    return { loss: tf.add(locLoss, clsLoss) as tf.Scalar, locLoss, clsLoss };
  });
}
