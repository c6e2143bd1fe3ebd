/**
 * One training step of the SSD recipe: forward in training mode (BatchNorm on batch
 * statistics), matching of the ground truth to the priors, the MultiBox loss with hard
 * negative mining 3:1, gradients of every trainable parameter, one SGD update.
 *
 * The step reads back only the three loss values and the gradient norm (to log them and to
 * stop on a NaN); a non-finite loss or gradient leaves the weights as they were (only
 * BatchNorm's running statistics, updated by the forward pass, have moved).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { getConfig } from "../config.ts";
 * import { buildModel } from "../model/ssd.ts";
 * import { priorsTensor } from "../priors.ts";
 * import { registerTrainingGradients } from "../engine/gradients.ts";
 * import { Sgd } from "./sgd.ts";
 * import { trainStep } from "./step.ts";
 * await tf.setBackend("cpu");
 * await registerTrainingGradients();
 * const cfg = getConfig("tiny");
 * const model = buildModel(cfg, { seed: 1 });
 * const priors = priorsTensor(cfg);
 * const sgd = new Sgd(model.params);
 * const batch = {
 *   images: new Float32Array(160 * 160 * 3),
 *   boxes: [Float32Array.of(0.2, 0.2, 0.6, 0.7)],
 *   labels: [Int32Array.of(1)],
 * };
 * const r = await trainStep(model, batch, { priors, optimizer: sgd, lr: 0.01 });
 * assert.ok(r.loss > 0 && Number.isFinite(r.loss));
 * assert.ok(r.numPositives >= 1);
 * sgd.dispose();
 * priors.dispose();
 * model.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type ModelConfig, numClasses } from "../config.ts";
import { matchTargets } from "../match.ts";
import { multiboxLoss } from "../loss.ts";
import type { SsdModel } from "../model/ssd.ts";
import type { Sgd } from "./sgd.ts";

/** The part of a loader batch a step reads. */
export interface StepBatch {
  /** `[B, H, W, 3]` normalized images, H and W the model's input. */
  images: Float32Array;
  /** Per image `[G, 4]` normalized `xyxy`. */
  boxes: Float32Array[];
  /** Per image `[G]` labels 1 … C − 1. */
  labels: Int32Array[];
}

/** What a step needs besides the model and the batch. */
export interface StepContext {
  /** `[P, 4]` cxcywh priors of the model's config. */
  priors: tf.Tensor2D;
  optimizer: Sgd;
  /** Learning rate of this step. */
  lr: number;
  /** Hard negatives per positive. Default 3. */
  negPosRatio?: number;
}

/** The losses of one step (before the update), as numbers. */
export interface StepResult {
  /** `locLoss + clsLoss`. */
  loss: number;
  locLoss: number;
  clsLoss: number;
  /** Matched priors in the batch. */
  numPositives: number;
  /** ‖∇‖₂ over the optimizer's parameters. */
  gradNorm: number;
  /** False when the loss or a gradient was NaN or infinite: no update was applied. */
  finite: boolean;
}

/**
 * The batch size of `batch`, after checking its images fill B × H × W × 3 of the model's input
 * and it has one label list per image.
 *
 * @throws {TypeError} when they do not.
 */
export function checkStepBatch(cfg: ModelConfig, batch: StepBatch): number {
  const [h, w] = cfg.imageSize;
  const b = batch.boxes.length;
  if (batch.images.length !== b * h * w * 3 || batch.labels.length !== b) {
    throw new TypeError(
      `Cannot train ${cfg.name}: expected ${b} images of ${h}×${w}×3 and ${b} label lists, ` +
        `got ${batch.images.length} values and ${batch.labels.length} label lists`,
    );
  }
  return b;
}

/**
 * Runs one step on `batch` and updates the optimizer's parameters (those of `model.params` it
 * holds; the others, frozen, get no gradient).
 */
export async function trainStep(
  model: SsdModel,
  batch: StepBatch,
  ctx: StepContext,
): Promise<StepResult> {
  const cfg = model.config;
  const [h, w] = cfg.imageSize;
  const b = checkStepBatch(cfg, batch);
  const targets = matchTargets(
    ctx.priors,
    batch.boxes.map((boxes, i) => ({ boxes, labels: batch.labels[i] })),
    { variances: cfg.variances, numClasses: numClasses(cfg) },
  );
  const x = tf.tensor4d(batch.images, [b, h, w, 3]);
  const trainable = [...ctx.optimizer.params.values()];
  const names = new Map([...ctx.optimizer.params].map(([name, v]) => [v.name, name]));
  let parts: tf.Scalar[] = [];
  let value: tf.Scalar | undefined;
  let grads: tf.NamedTensorMap = {};
  try {
    ({ value, grads } = tf.variableGrads(() => {
      const out = model.predict(x, { training: true });
      const terms = multiboxLoss(out, targets, { negPosRatio: ctx.negPosRatio });
      parts = [tf.keep(terms.locLoss), tf.keep(terms.clsLoss)];
      return terms.loss;
    }, trainable));
    const gradList = Object.values(grads);
    // ‖∇‖² over all parameters: one more scalar read, and a NaN in any gradient shows in it
    const sqNorm = tf.tidy(() =>
      gradList.length === 0 ? tf.scalar(0) : tf.addN(gradList.map((g) => tf.sum(tf.square(g))))
    );
    parts.push(sqNorm as tf.Scalar);
    const [loss, locLoss, clsLoss, gradSq] = await Promise.all(
      [value, ...parts].map(async (t) => (await t.data())[0]),
    );
    const gradNorm = Math.sqrt(gradSq);
    const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
    if (finite) {
      const named = new Map(Object.entries(grads).map(([k, g]) => [names.get(k) ?? k, g]));
      ctx.optimizer.step(named, ctx.lr);
    }
    return { loss, locLoss, clsLoss, gradNorm, numPositives: targets.numPositives, finite };
  } finally {
    tf.dispose([x, targets.locTargets, targets.clsTargets, ...parts, ...Object.values(grads)]);
    value?.dispose();
  }
}
