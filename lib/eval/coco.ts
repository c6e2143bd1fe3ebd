/**
 * COCO box evaluation with pycocotools' `COCOeval(gt, dt, "bbox")` semantics and default
 * parameters: IoU thresholds `.50:.05:.95`, 101 recall points, `maxDets` 1/10/100 per image and
 * category, area ranges all/small/medium/large from the annotation's `area` field (inclusive at
 * both ends), crowd regions ignored (IoU = intersection / detection area; a crowd region may
 * absorb several detections), stable ordering of equal scores, precision made monotone, and
 * categories without ground truth (-1) left out of every mean.
 *
 * Work is indexed by image and category: nothing is quadratic in the number of images.
 *
 * @module
 */
import type { CocoInstances, CocoResult } from "../data/coco.ts";
import { linspace, mean } from "./numpy.ts";

/** IoU thresholds `np.linspace(.5, .95, 10)` (exact doubles: `0.8999999999999999`). */
export const COCO_IOU_THRESHOLDS: readonly number[] = linspace(0.5, 0.95, 10);
/** Recall thresholds `np.linspace(0, 1, 101)`. */
export const COCO_RECALL_THRESHOLDS: readonly number[] = linspace(0, 1, 101);
/** Area ranges `[lo, hi]` (pixels², inclusive) for all, small, medium, large. */
export const COCO_AREA_RANGES: readonly (readonly [number, number])[] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
/** Detections kept per image and category for the three `maxDets` settings. */
export const COCO_MAX_DETS: readonly number[] = [1, 10, 100];

/** Names of the 12 summary stats, in pycocotools' order. */
export const COCO_STAT_NAMES = [
  "AP",
  "AP50",
  "AP75",
  "APs",
  "APm",
  "APl",
  "AR1",
  "AR10",
  "AR100",
  "ARs",
  "ARm",
  "ARl",
] as const;

/** Per-category results (`-1` where the category has no non-crowd ground truth). */
export interface CocoCategoryEval {
  /** The category's id in the ground truth. */
  id: number;
  /** The category's name. */
  name: string;
  /** AP@[.50:.95] (area all, maxDets 100). */
  ap: number;
  /** AP@.50 (area all, maxDets 100). */
  ap50: number;
  /** AP@.75 (area all, maxDets 100). */
  ap75: number;
  /** AR@[.50:.95] with at most 100 detections per image (area all). */
  ar100: number;
  /** Non-crowd ground-truth boxes. */
  numGt: number;
  /** Crowd regions (`iscrowd: 1`). */
  numCrowd: number;
  /** Detections of this category (before the 100-per-image cut). */
  numDt: number;
  /** Images with non-crowd ground truth of this category. */
  numImages: number;
}

/** The outcome of {@linkcode evaluateCoco}. */
export interface CocoEvalResult {
  /** The 12 numbers pycocotools' `summarize()` prints, in its order (see `COCO_STAT_NAMES`). */
  stats: number[];
  /** One entry per category of the ground truth, sorted by id. */
  categories: CocoCategoryEval[];
  /** Images evaluated (all images of the ground truth). */
  numImages: number;
  /** pycocotools' `eval["precision"]`, shape `[T=10, R=101, K, A=4, M=3]`, -1 where undefined. */
  precision: Float64Array;
  /** pycocotools' `eval["recall"]`, shape `[T=10, K, A=4, M=3]`, -1 where undefined. */
  recall: Float64Array;
}

interface Gt {
  bbox: [number, number, number, number];
  area: number;
  crowd: boolean;
}

interface Dt {
  bbox: [number, number, number, number];
  area: number;
  score: number;
}

/** The evaluation of one image, category and area range (pycocotools' `evalImgs` entry). */
interface ImageEval {
  /** Scores of the kept detections, sorted descending (stable). */
  scores: Float64Array; // [D]
  /** 1 where detection d matched a ground truth at threshold t. */
  matched: Uint8Array; // [T, D]
  /** 1 where detection d is ignored at threshold t. */
  ignored: Uint8Array; // [T, D]
  /** Ground-truth boxes that are not ignored. */
  numPositive: number;
}

/** pycocotools `bbIou`: `[D, G]` IoUs of `xywh` boxes; crowd columns use the detection's area. */
function boxIou(dts: Dt[], gts: Gt[]): Float64Array {
  const out = new Float64Array(dts.length * gts.length); // [D, G]
  for (let g = 0; g < gts.length; g++) {
    const [gx, gy, gw, gh] = gts[g].bbox;
    const ga = gw * gh;
    for (let d = 0; d < dts.length; d++) {
      const [dx, dy, dw, dh] = dts[d].bbox;
      const da = dw * dh;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const i = w * h;
      const u = gts[g].crowd ? da : da + ga - i;
      out[d * gts.length + g] = i / u;
    }
  }
  return out;
}

/** pycocotools `evaluateImg` for one area range; `dts` sorted and cut to 100, `ious` `[D, G]`. */
function evaluateImage(
  gts: Gt[],
  dts: Dt[],
  ious: Float64Array,
  range: readonly [number, number],
): ImageEval {
  const T = COCO_IOU_THRESHOLDS.length, D = dts.length, G = gts.length;
  const outside = (area: number) => area < range[0] || area > range[1];
  const gIgnore = gts.map((g) => g.crowd || outside(g.area));
  // Ground truth with ignored boxes last, stable (np.argsort kind="mergesort").
  const order = [...gts.keys()].sort((a, b) => Number(gIgnore[a]) - Number(gIgnore[b]));
  const matched = new Uint8Array(T * D);
  const ignored = new Uint8Array(T * D);
  const gtTaken = new Uint8Array(G);
  for (let t = 0; t < T; t++) {
    gtTaken.fill(0);
    for (let d = 0; d < D; d++) {
      let best = Math.min(COCO_IOU_THRESHOLDS[t], 1 - 1e-10);
      let m = -1;
      for (let k = 0; k < G; k++) {
        const g = order[k];
        if (gtTaken[k] && !gts[g].crowd) continue;
        if (m > -1 && !gIgnore[order[m]] && gIgnore[g]) break;
        const iou = ious[d * G + g];
        if (iou < best) continue;
        best = iou;
        m = k;
      }
      if (m === -1) continue;
      ignored[t * D + d] = gIgnore[order[m]] ? 1 : 0;
      matched[t * D + d] = 1;
      gtTaken[m] = 1;
    }
  }
  for (let d = 0; d < D; d++) {
    if (!outside(dts[d].area)) continue;
    for (let t = 0; t < T; t++) {
      if (!matched[t * D + d]) ignored[t * D + d] = 1;
    }
  }
  return {
    scores: Float64Array.from(dts, (d) => d.score),
    matched,
    ignored,
    numPositive: gIgnore.filter((ig) => !ig).length,
  };
}

/** Stable sort by descending score (np.argsort(-scores, kind="mergesort")). */
function sortByScore<T extends { score: number }>(items: T[]): T[] {
  return items.map((item, i) => ({ item, i })).sort((a, b) =>
    b.item.score - a.item.score || a.i - b.i
  ).map((x) => x.item);
}

/** pycocotools `accumulate` for one category, area range and maxDets: fills precision/recall. */
function accumulateOne(
  evals: ImageEval[],
  maxDet: number,
): { precision: Float64Array; recall: Float64Array } | undefined {
  const T = COCO_IOU_THRESHOLDS.length, R = COCO_RECALL_THRESHOLDS.length;
  let npig = 0, nd = 0;
  for (const e of evals) {
    npig += e.numPositive;
    nd += Math.min(e.scores.length, maxDet);
  }
  if (evals.length === 0 || npig === 0) return undefined;
  // Concatenate per-image detections (images in ascending id), then stable sort by score.
  const scores = new Float64Array(nd);
  const owner = new Int32Array(nd), local = new Int32Array(nd);
  let n = 0;
  evals.forEach((e, ei) => {
    for (let d = 0; d < Math.min(e.scores.length, maxDet); d++, n++) {
      scores[n] = e.scores[d];
      owner[n] = ei;
      local[n] = d;
    }
  });
  const order = Array.from({ length: nd }, (_, i) => i).sort((a, b) =>
    scores[b] - scores[a] || a - b
  );
  const precision = new Float64Array(T * R);
  const recall = new Float64Array(T);
  const rc = new Float64Array(nd), pr = new Float64Array(nd);
  for (let t = 0; t < T; t++) {
    let tp = 0, fp = 0;
    for (let j = 0; j < nd; j++) {
      const e = evals[owner[order[j]]], d = local[order[j]], D = e.scores.length;
      if (!e.ignored[t * D + d]) {
        if (e.matched[t * D + d]) tp++;
        else fp++;
      }
      rc[j] = tp / npig;
      pr[j] = tp / (fp + tp + Number.EPSILON);
    }
    recall[t] = nd > 0 ? rc[nd - 1] : 0;
    for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    // np.searchsorted(rc, recThrs, side="left"); thresholds past the last recall keep 0.
    let i = 0;
    for (let r = 0; r < R; r++) {
      while (i < nd && rc[i] < COCO_RECALL_THRESHOLDS[r]) i++;
      if (i >= nd) break;
      precision[t * R + r] = pr[i];
    }
  }
  return { precision, recall };
}

function meanDefined(values: number[]): number {
  const kept = values.filter((v) => v > -1);
  return kept.length === 0 ? -1 : mean(kept);
}

/**
 * Evaluates COCO results against COCO ground truth exactly as pycocotools
 * `COCOeval(gt, gt.loadRes(results), "bbox")` with default parameters. Boxes are COCO pixels
 * `[x, y, w, h]`; a detection's area is `w * h`, a ground truth's area is its `area` field.
 *
 * @param gt the ground truth; every image is evaluated, every category is reported
 * @param results detections; order matters only between equal scores (earlier wins)
 * @returns the 12 summary stats, per-category AP/AP50/AP75/AR100, precision and recall arrays
 * @throws RangeError when a result names an image or category absent from `gt`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateCoco } from "./coco.ts";
 * const gt = {
 *   images: [{ id: 1, file_name: "a.jpg", width: 100, height: 100 }],
 *   annotations: [
 *     { id: 1, image_id: 1, category_id: 5, bbox: [10, 10, 40, 40] as [number, number, number, number], area: 1600, iscrowd: 0 },
 *   ],
 *   categories: [{ id: 5, name: "cat" }],
 * };
 * // One detection with IoU 0.8 (32x40 inside 40x40): a hit at thresholds .50 to .80.
 * const res = evaluateCoco(gt, [{ image_id: 1, category_id: 5, bbox: [10, 10, 32, 40], score: 0.9 }]);
 * assert.ok(Math.abs(res.stats[1] - 1) < 1e-12); // AP50 (1 / (1 + eps), as pycocotools)
 * assert.ok(Math.abs(res.stats[0] - 0.7) < 1e-12); // 7 of 10 thresholds
 * assert.equal(res.stats[3], -1); // no small objects
 * ```
 */
export function evaluateCoco(gt: CocoInstances, results: CocoResult[]): CocoEvalResult {
  const imgIds = [...new Set(gt.images.map((im) => im.id))].sort((a, b) => a - b);
  const cats = [...new Map(gt.categories.map((c) => [c.id, c])).values()].sort((a, b) =>
    a.id - b.id
  );
  const imgIndex = new Map(imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(cats.map((c, k) => [c.id, k]));
  const I = imgIds.length, K = cats.length;
  // Per category: image index -> ground truth and detections, in input order.
  const gtsBy = Array.from({ length: K }, () => new Map<number, Gt[]>());
  const dtsBy = Array.from({ length: K }, () => new Map<number, Dt[]>());
  for (const a of gt.annotations) {
    const i = imgIndex.get(a.image_id), k = catIndex.get(a.category_id);
    if (i === undefined || k === undefined) continue; // pycocotools selects by imgIds and catIds
    const list = gtsBy[k].get(i) ?? gtsBy[k].set(i, []).get(i)!;
    list.push({ bbox: a.bbox, area: a.area, crowd: Boolean(a.iscrowd) });
  }
  results.forEach((r, n) => {
    const i = imgIndex.get(r.image_id), k = catIndex.get(r.category_id);
    if (i === undefined) {
      throw new RangeError(
        `result ${n}: image_id ${r.image_id} is not an image of the ground truth`,
      );
    }
    if (k === undefined) {
      throw new RangeError(
        `result ${n}: category_id ${r.category_id} is not a category of the ground truth`,
      );
    }
    const list = dtsBy[k].get(i) ?? dtsBy[k].set(i, []).get(i)!;
    list.push({ bbox: r.bbox, area: r.bbox[2] * r.bbox[3], score: r.score });
  });

  const T = COCO_IOU_THRESHOLDS.length, R = COCO_RECALL_THRESHOLDS.length;
  const A = COCO_AREA_RANGES.length, M = COCO_MAX_DETS.length;
  const maxDet = COCO_MAX_DETS[M - 1];
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const categories: CocoCategoryEval[] = [];
  for (let k = 0; k < K; k++) {
    const images = [...new Set([...gtsBy[k].keys(), ...dtsBy[k].keys()])].sort((a, b) => a - b);
    const perArea: ImageEval[][] = Array.from({ length: A }, () => []);
    let numGt = 0, numCrowd = 0, numDt = 0, numImages = 0;
    for (const i of images) {
      const gts = gtsBy[k].get(i) ?? [];
      const dts = sortByScore(dtsBy[k].get(i) ?? []).slice(0, maxDet);
      const crowd = gts.filter((g) => g.crowd).length;
      numGt += gts.length - crowd;
      numCrowd += crowd;
      numDt += dtsBy[k].get(i)?.length ?? 0;
      if (gts.length > crowd) numImages++;
      const ious = boxIou(dts, gts);
      for (let a = 0; a < A; a++) {
        perArea[a].push(evaluateImage(gts, dts, ious, COCO_AREA_RANGES[a]));
      }
    }
    for (let a = 0; a < A; a++) {
      for (let m = 0; m < M; m++) {
        const acc = accumulateOne(perArea[a], COCO_MAX_DETS[m]);
        if (acc === undefined) continue;
        for (let t = 0; t < T; t++) {
          recall[((t * K + k) * A + a) * M + m] = acc.recall[t];
          for (let r = 0; r < R; r++) {
            precision[(((t * R + r) * K + k) * A + a) * M + m] = acc.precision[t * R + r];
          }
        }
      }
    }
    const p = (t: number, r: number) => precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)];
    const allT = Array.from({ length: T * R }, (_, j) => p(Math.floor(j / R), j % R));
    categories.push({
      id: cats[k].id,
      name: cats[k].name,
      ap: meanDefined(allT),
      ap50: meanDefined(allT.slice(0, R)),
      ap75: meanDefined(allT.slice(5 * R, 6 * R)),
      ar100: meanDefined(
        Array.from({ length: T }, (_, t) => recall[((t * K + k) * A + 0) * M + (M - 1)]),
      ),
      numGt,
      numCrowd,
      numDt,
      numImages,
    });
  }
  const stats = summarize(precision, recall, K);
  return { stats, categories, numImages: I, precision, recall };
}

/** pycocotools `_summarizeDets`: the 12 means over entries > -1, in C order of the slices. */
function summarize(precision: Float64Array, recall: Float64Array, K: number): number[] {
  const T = COCO_IOU_THRESHOLDS.length, R = COCO_RECALL_THRESHOLDS.length;
  const A = COCO_AREA_RANGES.length, M = COCO_MAX_DETS.length;
  const ap = (ts: number[], a: number, m: number) => {
    const out: number[] = [];
    for (const t of ts) {
      for (let r = 0; r < R; r++) {
        for (let k = 0; k < K; k++) out.push(precision[(((t * R + r) * K + k) * A + a) * M + m]);
      }
    }
    return meanDefined(out);
  };
  const ar = (a: number, m: number) => {
    const out: number[] = [];
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < K; k++) out.push(recall[((t * K + k) * A + a) * M + m]);
    }
    return meanDefined(out);
  };
  const all = [...COCO_IOU_THRESHOLDS.keys()];
  const t50 = COCO_IOU_THRESHOLDS.indexOf(0.5), t75 = COCO_IOU_THRESHOLDS.indexOf(0.75);
  return [
    ap(all, 0, 2),
    ap([t50], 0, 2),
    ap([t75], 0, 2),
    ap(all, 1, 2),
    ap(all, 2, 2),
    ap(all, 3, 2),
    ar(0, 0),
    ar(0, 1),
    ar(0, 2),
    ar(1, 2),
    ar(2, 2),
    ar(3, 2),
  ];
}
