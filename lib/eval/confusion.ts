/**
 * The detection confusion matrix (as Ultralytics draws it, transposed to rows = truth): which
 * class each ground-truth object was detected as, which objects were missed, and which
 * detections found nothing.
 *
 * Per image, detections scoring `≥ confidence` are matched to ground-truth objects of any
 * class: every pair with IoU > `iouThreshold` (voc_eval's IoU and strict threshold), taken
 * greedily from the highest IoU, each detection and object at most once. A matched pair counts
 * in `[object class, detection class]`; an unmatched object in `[its class, background]` (missed);
 * an unmatched detection in `[background, its class]` (a false positive). Difficult (crowd)
 * objects count nowhere, and a detection matched to one is not a false positive.
 *
 * @module
 */
import { type VocDetection, type VocGtObject, vocIou } from "./voc.ts";

/** A confusion matrix with its labels. */
export interface ConfusionMatrix {
  /** The classes, then `"background"`: the labels of the rows and of the columns. */
  labels: string[];
  /** `[C + 1][C + 1]` counts: rows ground truth, columns detections; the last is background. */
  matrix: number[][];
  /** A detection and an object match when their IoU is above this. */
  iouThreshold: number;
  /** Detections scoring below this were left out. */
  confidence: number;
}

/**
 * Counts the confusion matrix of detections against ground truth.
 *
 * @param images image id → its objects (VOC 1-based inclusive pixels)
 * @param dets class name → detections (VOC pixels); classes not in `classes` are left out
 * @param classes the class names, in the matrix's order
 * @param options `confidence` (keep detections scoring at least this) and `iouThreshold`
 *   (default 0.5, a match needs more)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionMatrix } from "./confusion.ts";
 * const cat = { name: "cat", difficult: false, bbox: [1, 1, 10, 10] as [number, number, number, number] };
 * const images = new Map([["a", [cat]]]);
 * // The cat found as a dog; a second dog far away is a false positive.
 * const dets = { dog: [
 *   { imageId: "a", score: 0.9, bbox: [1, 1, 10, 10] as [number, number, number, number] },
 *   { imageId: "a", score: 0.8, bbox: [50, 50, 60, 60] as [number, number, number, number] },
 * ] };
 * const m = confusionMatrix(images, dets, ["cat", "dog"], { confidence: 0.5 });
 * assert.deepEqual(m.matrix, [[0, 1, 0], [0, 0, 0], [0, 1, 0]]);
 * ```
 */
export function confusionMatrix(
  images: Map<string, VocGtObject[]>,
  dets: Record<string, VocDetection[]>,
  classes: string[],
  options: { confidence: number; iouThreshold?: number },
): ConfusionMatrix {
  const iouThreshold = options.iouThreshold ?? 0.5;
  const C = classes.length;
  const index = new Map(classes.map((c, i) => [c, i]));
  const matrix = Array.from({ length: C + 1 }, () => new Array<number>(C + 1).fill(0));
  const byImage = new Map<string, { k: number; bbox: VocDetection["bbox"] }[]>();
  for (const [name, list] of Object.entries(dets)) {
    const k = index.get(name);
    if (k === undefined) continue;
    for (const d of list) {
      if (!(d.score >= options.confidence)) continue;
      let mine = byImage.get(d.imageId);
      if (mine === undefined) byImage.set(d.imageId, mine = []);
      mine.push({ k, bbox: d.bbox });
    }
  }
  for (const [id, objects] of images) {
    const found = byImage.get(id) ?? [];
    const pairs: [number, number, number][] = []; // [iou, object, detection]
    for (let g = 0; g < objects.length; g++) {
      for (let d = 0; d < found.length; d++) {
        const iou = vocIou(found[d].bbox, objects[g].bbox);
        if (iou > iouThreshold) pairs.push([iou, g, d]);
      }
    }
    pairs.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
    const objectTaken = new Array<boolean>(objects.length).fill(false);
    const detTaken = new Array<boolean>(found.length).fill(false);
    for (const [, g, d] of pairs) {
      if (objectTaken[g] || detTaken[d]) continue;
      objectTaken[g] = detTaken[d] = true;
      const truth = index.get(objects[g].name);
      if (!objects[g].difficult && truth !== undefined) matrix[truth][found[d].k]++;
    }
    objects.forEach((o, g) => {
      const truth = index.get(o.name);
      if (!objectTaken[g] && !o.difficult && truth !== undefined) matrix[truth][C]++;
    });
    found.forEach((f, d) => {
      if (!detTaken[d]) matrix[C][f.k]++;
    });
  }
  return {
    labels: [...classes, "background"],
    matrix,
    iouThreshold,
    confidence: options.confidence,
  };
}
