/**
 * Matching and the MultiBox loss for a batch, on the running tfjs backend, with the priors and
 * ground truth of `inputs.ts` (`torch_match_loss.py` is PyTorch's side):
 * - `match`: `matchTargets` (IoU, best prior per ground truth forced, threshold 0.5, encode);
 * - `loss_grads`: `multiboxLoss` of random head outputs and its gradients with respect to them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { multiboxLoss } from "../lib/loss.ts";
import { type GroundTruth, matchTargets } from "../lib/match.ts";
import { readF32 } from "./nms_task.ts";
import type { Task, TaskSpec } from "./protocol.ts";

/** `{ task, priors, targets, classes }` → a task timing matching, or the loss with gradients. */
export async function setupMatchLoss(spec: TaskSpec): Promise<Task> {
  const priorsData = await readF32(spec.priors as string);
  const priors = tf.tensor2d(priorsData, [priorsData.length / 4, 4]); // [P, 4] cxcywh
  const targets = JSON.parse(await Deno.readTextFile(spec.targets as string)) as GroundTruth[];
  if (spec.task === "match") {
    return {
      async run() {
        const m = matchTargets(priors, targets);
        try {
          await Promise.all([m.locTargets.data(), m.clsTargets.data()]);
        } finally {
          tf.dispose([m.locTargets, m.clsTargets]);
        }
        return { positives: m.numPositives };
      },
      end: () => priors.dispose(),
    };
  }
  const [b, p, c] = [targets.length, priors.shape[0], spec.classes as number];
  const matched = matchTargets(priors, targets);
  const locPred = tf.randomNormal([b, p, 4], 0, 1.5, "float32", 1) as tf.Tensor3D;
  const clsLogits = tf.randomNormal([b, p, c], 0, 2, "float32", 2) as tf.Tensor3D;
  const lossOf = (l: tf.Tensor, g: tf.Tensor) =>
    multiboxLoss({ locPred: l as tf.Tensor3D, clsLogits: g as tf.Tensor3D }, matched).loss;
  return {
    async run() {
      const { value, grads } = tf.valueAndGrads(lossOf)([locPred, clsLogits]);
      try {
        const [loss] = await Promise.all([value.data(), ...grads.map((g) => g.data())]);
        return { loss: loss[0] as number };
      } finally {
        tf.dispose([value, ...grads]);
      }
    },
    end: () => tf.dispose([priors, locPred, clsLogits, matched.locTargets, matched.clsTargets]),
  };
}
