/**
 * PASCAL VOC detection evaluation with the semantics of py-faster-rcnn's
 * `lib/datasets/voc_eval.py`: per class, detections sorted by descending score (stable, in
 * input order), each matched to the ground truth of highest IoU only (`ovmax > 0.5`, strict),
 * widths and heights `x2 - x1 + 1` (1-based inclusive pixels), difficult objects neither TP
 * nor FP, an already-detected best match is a false positive. AP is the VOC2007 11-point
 * interpolation or the VOC2010+ all-point area; the mAP averages the classes with
 * non-difficult ground truth.
 *
 * @module
 */
import { arange, mean, sum } from "./numpy.ts";

/** One ground-truth object; `bbox` is VOC `[xmin, ymin, xmax, ymax]`, 1-based inclusive pixels. */
export interface VocGtObject {
  /** The class name. */
  name: string;
  /** Neither a positive nor a false positive (VOC `difficult`, COCO `iscrowd`). */
  difficult: boolean;
  /** `[xmin, ymin, xmax, ymax]`, 1-based inclusive pixels. */
  bbox: [number, number, number, number];
}

/** One detection of one class; `bbox` is VOC `[xmin, ymin, xmax, ymax]`, 1-based inclusive pixels. */
export interface VocDetection {
  /** The id of the image it is in. */
  imageId: string;
  /** Confidence; higher ranks first. */
  score: number;
  /** `[xmin, ymin, xmax, ymax]`, 1-based inclusive pixels. */
  bbox: [number, number, number, number];
}

/** Per-class outcome. `ap` is NaN when undefined (no ground truth, or nothing at all). */
export interface VocClassEval {
  /** Average precision, 11-point or all-point as asked. */
  ap: number;
  /** Non-difficult ground-truth objects (voc_eval's `npos`). */
  npos: number;
  /** Difficult ground-truth objects. */
  numDifficult: number;
  /** Images with at least one non-difficult object of the class. */
  numImages: number;
  /** Detections of the class. */
  numDet: number;
  /** `[numDet]` the detections' scores in ranked order (descending). */
  scores: Float64Array;
  /** `[numDet]` cumulative recall after each detection, in ranked order. */
  recall: Float64Array;
  /** `[numDet]` cumulative precision after each detection, in ranked order. */
  precision: Float64Array;
}

/** The outcome of {@linkcode evaluateVoc}. */
export interface VocEvalResult {
  /** Mean AP over `mapClasses` (NaN when there is none). */
  mAP: number;
  /** Classes with `npos > 0`, in the order of `perClass`. */
  mapClasses: string[];
  /** Each evaluated class (with or without ground truth) → its outcome. */
  perClass: Record<string, VocClassEval>;
}

/** Options of {@linkcode evaluateVoc}. */
export interface VocEvalOptions {
  /** VOC2007 11-point AP (`true`) or VOC2010+ all-point AP (`false`, the default). */
  use07?: boolean;
  /** IoU a match must exceed (strictly); default 0.5. */
  iouThreshold?: number;
  /** Classes to report, in this order; default: every class of the ground truth and detections, sorted. */
  classes?: string[];
}

const THRESHOLDS_07 = arange(0, 1.1, 0.1);

/**
 * VOC AP from cumulative recall and precision (voc_eval's `voc_ap`).
 *
 * @param recall `[N]` non-decreasing recall after each ranked detection
 * @param precision `[N]` precision after each ranked detection
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vocAp } from "./voc.ts";
 * // TP, FP, TP with 2 positives: recall .5, .5, 1; precision 1, .5, 2/3.
 * const rec = [0.5, 0.5, 1], prec = [1, 0.5, 2 / 3];
 * assert.ok(Math.abs(vocAp(rec, prec, { use07: false }) - (0.5 + 0.5 * 2 / 3)) < 1e-15);
 * assert.ok(Math.abs(vocAp(rec, prec, { use07: true }) - (6 + 5 * 2 / 3) / 11) < 1e-15);
 * ```
 */
export function vocAp(
  recall: ArrayLike<number>,
  precision: ArrayLike<number>,
  options: { use07?: boolean } = {},
): number {
  const n = recall.length;
  if (options.use07) {
    let ap = 0;
    for (const t of THRESHOLDS_07) {
      let p = -Infinity, any = false;
      for (let i = 0; i < n; i++) {
        if (recall[i] >= t) {
          any = true;
          if (!(precision[i] <= p)) p = precision[i]; // np.max propagates NaN
        }
      }
      ap = ap + (any ? p : 0) / 11;
    }
    return ap;
  }
  const mrec = [0, ...Array.from(recall), 1];
  const mpre = [0, ...Array.from(precision), 0];
  for (let i = mpre.length - 1; i > 0; i--) {
    // np.maximum propagates NaN
    const a = mpre[i - 1], b = mpre[i];
    mpre[i - 1] = Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
  }
  const terms: number[] = [];
  for (let i = 0; i < mrec.length - 1; i++) {
    if (mrec[i + 1] !== mrec[i]) terms.push((mrec[i + 1] - mrec[i]) * mpre[i + 1]);
  }
  return sum(terms);
}

/**
 * voc_eval's IoU of two VOC boxes (1-based inclusive pixels: a width is `x2 − x1 + 1`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vocIou } from "./voc.ts";
 * assert.equal(vocIou([1, 1, 10, 10], [1, 1, 10, 10]), 1);
 * assert.equal(vocIou([1, 1, 10, 10], [6, 1, 15, 10]), 50 / 150); // 5×10 of 10×10 + 10×10 − 50
 * ```
 */
export function vocIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + 1, 0);
  const ih = Math.max(Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + 1, 0);
  const inters = iw * ih;
  const uni = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) -
    inters;
  return inters / uni;
}

/** Ground truth of one class in one image. */
interface ClassRecord {
  boxes: [number, number, number, number][];
  difficult: boolean[];
  detected: boolean[];
}

/** voc_eval's matching for one class: ranked recall and precision. */
function evaluateClass(
  records: Map<string, ClassRecord>,
  npos: number,
  dets: VocDetection[],
  iouThreshold: number,
): { scores: Float64Array; recall: Float64Array; precision: Float64Array } {
  // Stable descending sort in input order (the reference's np.argsort is not stable).
  const ranked = dets.map((d, i) => ({ d, i })).sort((a, b) => b.d.score - a.d.score || a.i - b.i);
  const nd = ranked.length;
  const scores = Float64Array.from(ranked, (r) => r.d.score);
  const recall = new Float64Array(nd), precision = new Float64Array(nd);
  let tp = 0, fp = 0;
  for (let j = 0; j < nd; j++) {
    const det = ranked[j].d;
    const R = records.get(det.imageId);
    if (R === undefined) {
      throw new RangeError(`detection image "${det.imageId}" is not an image of the ground truth`);
    }
    let ovmax = -Infinity, jmax = -1;
    for (let g = 0; g < R.boxes.length; g++) {
      const overlap = vocIou(det.bbox, R.boxes[g]);
      // np.max / np.argmax: the first maximum; a NaN wins.
      if (Number.isNaN(overlap)) {
        ovmax = NaN;
        jmax = g;
        break;
      }
      if (jmax === -1 || overlap > ovmax) {
        ovmax = overlap;
        jmax = g;
      }
    }
    if (ovmax > iouThreshold) {
      if (!R.difficult[jmax]) {
        if (!R.detected[jmax]) {
          tp++;
          R.detected[jmax] = true;
        } else fp++;
      }
    } else fp++;
    recall[j] = tp / npos;
    precision[j] = tp / Math.max(tp + fp, Number.EPSILON);
  }
  return { scores, recall, precision };
}

/**
 * Evaluates per-class detections against VOC ground truth exactly as py-faster-rcnn's
 * `voc_eval` (stable tie order). Every image of `gt` is part of the set, with or without
 * objects; a detection naming another image is an error.
 *
 * @param gt image id -> its objects (VOC 1-based inclusive pixels)
 * @param detsPerClass class name -> detections in file order
 * @returns per-class AP (NaN where there is no non-difficult ground truth) and the mAP over
 *   classes with ground truth
 * @throws RangeError when a detection names an image that is not in `gt`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateVoc } from "./voc.ts";
 * const gt = new Map([["img1", [{ name: "dog", difficult: false, bbox: [1, 1, 10, 10] as [number, number, number, number] }]]]);
 * const dets = { dog: [
 *   { imageId: "img1", score: 0.9, bbox: [1, 1, 10, 10] as [number, number, number, number] }, // TP
 *   { imageId: "img1", score: 0.8, bbox: [1, 1, 10, 10] as [number, number, number, number] }, // duplicate: FP
 * ] };
 * const res = evaluateVoc(gt, dets, { use07: false });
 * assert.equal(res.perClass.dog.ap, 1);
 * assert.equal(res.mAP, 1);
 * ```
 */
export function evaluateVoc(
  gt: Map<string, VocGtObject[]>,
  detsPerClass: Record<string, VocDetection[]>,
  options: VocEvalOptions = {},
): VocEvalResult {
  const iouThreshold = options.iouThreshold ?? 0.5;
  const classes = options.classes ??
    [...new Set([...[...gt.values()].flat().map((o) => o.name), ...Object.keys(detsPerClass)])]
      .sort();
  const perClass: Record<string, VocClassEval> = {};
  const mapClasses: string[] = [];
  for (const name of classes) {
    const records = new Map<string, ClassRecord>();
    let npos = 0, numDifficult = 0, numImages = 0;
    for (const [imageId, objects] of gt) {
      const mine = objects.filter((o) => o.name === name);
      records.set(imageId, {
        boxes: mine.map((o) => o.bbox),
        difficult: mine.map((o) => o.difficult),
        detected: mine.map(() => false),
      });
      const hard = mine.filter((o) => o.difficult).length;
      npos += mine.length - hard;
      numDifficult += hard;
      if (mine.length > hard) numImages++;
    }
    const dets = detsPerClass[name] ?? [];
    const { scores, recall, precision } = evaluateClass(records, npos, dets, iouThreshold);
    // Nothing to rank and nothing to find: undefined (the reference raises).
    const ap = npos === 0 && dets.length === 0
      ? NaN
      : vocAp(recall, precision, { use07: options.use07 });
    perClass[name] = {
      ap,
      npos,
      numDifficult,
      numImages,
      numDet: dets.length,
      scores,
      recall,
      precision,
    };
    if (npos > 0) mapClasses.push(name);
  }
  return { mAP: mean(mapClasses.map((c) => perClass[c].ap)), mapClasses, perClass };
}
