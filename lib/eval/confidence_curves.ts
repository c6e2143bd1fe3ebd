/**
 * Precision, recall and F1 against the confidence threshold, per class and averaged over the
 * classes, and the threshold where the mean F1 is best (as Ultralytics reports P and R): from
 * the ranked matching of `evaluateVoc` (IoU > 0.5, difficult objects ignored), so the curves
 * and the AP come from one matching.
 *
 * At a threshold `t` a class keeps its detections scoring `≥ t`. With none kept, precision is
 * 1 and recall 0 (Ultralytics' convention: the curves end at P = 1 on the right); a class with
 * no detection at all has precision 0 everywhere (as Ultralytics leaves it).
 *
 * @module
 */
import type { VocEvalResult } from "./voc.ts";

/** Thresholds the curves are sampled at: 0, 0.001, …, 1. */
export const CONFIDENCE_GRID: readonly number[] = Array.from({ length: 1001 }, (_, i) => i / 1000);

/** Precision, recall and F1 at each threshold of {@link CONFIDENCE_GRID}. */
export interface PrfCurve {
  /** `[T]` precision of the detections scoring `≥ t`; 1 when none does. */
  precision: Float64Array;
  /** `[T]` recall of the detections scoring `≥ t`. */
  recall: Float64Array;
  /** `[T]` harmonic mean of precision and recall; 0 where both are 0. */
  f1: Float64Array;
}

/** What {@link confidenceCurves} computes. */
export interface ConfidenceCurves {
  /** The thresholds, {@link CONFIDENCE_GRID}. */
  thresholds: readonly number[];
  /** Classes with ground truth (the ones averaged), in report order. */
  classes: string[];
  /** Each class of `classes` → its curves. */
  perClass: Record<string, PrfCurve>;
  /** The mean over `classes` at each threshold. */
  mean: PrfCurve;
  /** Where the mean F1 is highest (the lowest such threshold): its index and the values there. */
  best: { index: number; confidence: number; f1: number; precision: number; recall: number };
}

/** One class's P, R, F1 at each threshold, from its ranked scores and cumulative P and R. */
function classCurve(
  scores: Float64Array,
  precision: Float64Array,
  recall: Float64Array,
): PrfCurve {
  const T = CONFIDENCE_GRID.length;
  const out = {
    precision: new Float64Array(T),
    recall: new Float64Array(T),
    f1: new Float64Array(T),
  };
  if (scores.length === 0) return out; // nothing detected: P = R = F1 = 0
  // Walk the thresholds down while the kept count grows: k = #(score ≥ t).
  let k = 0;
  for (let i = T - 1; i >= 0; i--) {
    const t = CONFIDENCE_GRID[i];
    while (k < scores.length && scores[k] >= t) k++;
    const p = k === 0 ? 1 : precision[k - 1], r = k === 0 ? 0 : recall[k - 1];
    out.precision[i] = p;
    out.recall[i] = r;
    out.f1[i] = p + r > 0 ? (2 * p * r) / (p + r) : 0;
  }
  return out;
}

/**
 * P, R and F1 against confidence for each class with ground truth, their means, and the best
 * mean F1.
 *
 * @param voc a VOC evaluation (its ranked scores, precision and recall per class; IoU > 0.5)
 * @returns curves sampled at 0, 0.001, …, 1; `best` is at the lowest threshold of the highest
 *   mean F1 (index 0 when no class has ground truth)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateVoc } from "./voc.ts";
 * import { confidenceCurves } from "./confidence_curves.ts";
 * const box = [1, 1, 10, 10] as [number, number, number, number];
 * const gt = new Map([["a", [{ name: "cat", difficult: false, bbox: box }]]]);
 * // A hit at 0.9 and a miss at 0.5: above 0.5 precision is 1, at 0.5 and below it is 1/2.
 * const dets = { cat: [{ imageId: "a", score: 0.9, bbox: box }, { imageId: "a", score: 0.5, bbox: box }] };
 * const curves = confidenceCurves(evaluateVoc(gt, dets));
 * assert.equal(curves.perClass.cat.precision[500], 0.5); // t = 0.5
 * assert.equal(curves.perClass.cat.precision[501], 1); // t = 0.501
 * assert.deepEqual([curves.best.confidence, curves.best.f1], [0.501, 1]);
 * ```
 */
export function confidenceCurves(voc: VocEvalResult): ConfidenceCurves {
  const T = CONFIDENCE_GRID.length;
  const classes = voc.mapClasses;
  const perClass: Record<string, PrfCurve> = {};
  const mean: PrfCurve = {
    precision: new Float64Array(T),
    recall: new Float64Array(T),
    f1: new Float64Array(T),
  };
  for (const name of classes) {
    const c = voc.perClass[name];
    const curve = classCurve(c.scores, c.precision, c.recall);
    perClass[name] = curve;
    for (let i = 0; i < T; i++) {
      mean.precision[i] += curve.precision[i] / classes.length;
      mean.recall[i] += curve.recall[i] / classes.length;
      mean.f1[i] += curve.f1[i] / classes.length;
    }
  }
  let index = 0;
  for (let i = 1; i < T; i++) if (mean.f1[i] > mean.f1[index]) index = i;
  return {
    thresholds: CONFIDENCE_GRID,
    classes,
    perClass,
    mean,
    best: {
      index,
      confidence: CONFIDENCE_GRID[index],
      f1: mean.f1[index],
      precision: mean.precision[index],
      recall: mean.recall[index],
    },
  };
}
