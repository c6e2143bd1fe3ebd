/**
 * Matching of ground-truth boxes to priors and the training targets that follow, with
 * torchvision `SSDMatcher` semantics (SSD paper §2.2 "Matching strategy"):
 * 1. every prior takes the ground truth of highest IoU (the first on ties) if that IoU is
 *    ≥ `iouThreshold`, else it is background;
 * 2. then every ground truth is forced onto its best prior (the first on ties), whatever the
 *    IoU; when two ground truths share a best prior the later one wins.
 * An image without ground truth (G = 0) is all background.
 *
 * The matching runs in plain JS over float32 arrays, not as tfjs ops: a batch is a few
 * hundred thousand IoUs, which tfjs would spend as many small kernels and a synchronous read
 * back (impossible on WebGPU). Every step is rounded to float32 in the order of `boxIou`
 * and `encodeBoxes` in `boxes.ts` (torchvision's `box_iou` and `encode_boxes`), so IoUs,
 * threshold decisions and targets are those of the tensor ops; the tests tie the two. A
 * prior tensor is read once and kept (priors are fixed), so on WebGPU hand the matcher the
 * priors before any kernel uses them (WebGPU cannot read a GPU tensor synchronously).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

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
  /**
   * The model's class count C (background included). When given, a label ≥ C is refused:
   * the loss would otherwise score it as no class at all (a dataset with more classes than
   * the model).
   */
  numClasses?: number;
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

const f32 = Math.fround;

/**
 * A prior set in the float32 forms the matcher reads, each `[P]`: the corners `x1 … y2`
 * (`cxcywhToXyxy`: cx ∓ 0.5·w), and torchvision's anchor width, height, centre and area
 * taken back from those corners (`encodeBoxes`, `boxIou`).
 */
interface PriorArrays {
  p: number;
  x1: Float32Array;
  y1: Float32Array;
  x2: Float32Array;
  y2: Float32Array;
  w: Float32Array;
  h: Float32Array;
  cx: Float32Array;
  cy: Float32Array;
  area: Float32Array;
}

/** Prior sets already read, by tensor: priors are fixed, so each is read back once. */
const priorCache = new WeakMap<tf.Tensor, PriorArrays>();

function priorArrays(priorsCxcywh: tf.Tensor2D): PriorArrays {
  if (priorsCxcywh.rank !== 2 || priorsCxcywh.shape[1] !== 4) {
    throw new TypeError(
      `Cannot match priors: priorsCxcywh must have shape [P, 4], got [${priorsCxcywh.shape}]`,
    );
  }
  if (priorsCxcywh.isDisposed) throw new Error("Cannot match priors: priorsCxcywh is disposed");
  const cached = priorCache.get(priorsCxcywh);
  if (cached !== undefined) return cached;
  let data: ArrayLike<number>;
  try {
    data = priorsCxcywh.dataSync();
  } catch (e) {
    throw new Error(
      `Cannot match priors: priorsCxcywh cannot be read synchronously on the ${tf.getBackend()} ` +
        `backend (${(e as Error).message}); pass it to the matcher before any kernel uses it ` +
        "(it is read once and kept) or make it from values on the CPU",
    );
  }
  const p = priorsCxcywh.shape[0];
  const a: PriorArrays = {
    p,
    ...Object.fromEntries(
      ["x1", "y1", "x2", "y2", "w", "h", "cx", "cy", "area"].map((k) => [k, new Float32Array(p)]),
    ) as Omit<PriorArrays, "p">,
  };
  for (let j = 0; j < p; j++) {
    const cx = f32(data[j * 4]), cy = f32(data[j * 4 + 1]);
    const hw = f32(f32(data[j * 4 + 2]) * 0.5), hh = f32(f32(data[j * 4 + 3]) * 0.5);
    const x1 = (a.x1[j] = f32(cx - hw)), y1 = (a.y1[j] = f32(cy - hh));
    const x2 = (a.x2[j] = f32(cx + hw)), y2 = (a.y2[j] = f32(cy + hh));
    const w = (a.w[j] = f32(x2 - x1)), h = (a.h[j] = f32(y2 - y1));
    a.cx[j] = f32(x1 + f32(w * 0.5));
    a.cy[j] = f32(y1 + f32(h * 0.5));
    a.area[j] = f32(w * h);
  }
  // a Variable can be reassigned: read it each time
  if (!(priorsCxcywh instanceof tf.Variable)) priorCache.set(priorsCxcywh, a);
  return a;
}

/**
 * IoU of `gt [G, 4]` `xyxy` (float32 values) with every prior → `[G, P]` row-major, with
 * `boxIou`'s float32 steps (torchvision's `box_iou`): each operation rounded to float32,
 * intersections clamped at 0, areas not.
 */
function iouWithPriors(gt: Float32Array, pr: PriorArrays): Float32Array {
  const g = gt.length / 4, { p, x1, y1, x2, y2, area } = pr;
  const iou = new Float32Array(g * p);
  for (let i = 0; i < g; i++) {
    const gx1 = gt[i * 4], gy1 = gt[i * 4 + 1], gx2 = gt[i * 4 + 2], gy2 = gt[i * 4 + 3];
    const gArea = f32(f32(gx2 - gx1) * f32(gy2 - gy1));
    const row = i * p;
    for (let j = 0; j < p; j++) {
      let w = f32(Math.min(gx2, x2[j]) - Math.max(gx1, x1[j]));
      let h = f32(Math.min(gy2, y2[j]) - Math.max(gy1, y1[j]));
      if (w < 0) w = 0; // relu, NaN kept
      if (h < 0) h = 0;
      const inter = f32(w * h);
      iou[row + j] = f32(inter / f32(f32(gArea + area[j]) - inter));
    }
  }
  return iou;
}

/**
 * Matches the ground truth of one image: `gtXyxy [G, 4]` `xyxy`, `priorsCxcywh [P, 4]` →
 * `[P]` int32, the index of each prior's ground truth or −1 (background). Reads `gtXyxy`
 * synchronously (use {@link matchTargets}, which takes plain arrays, on WebGPU).
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
  const pr = priorArrays(priorsCxcywh);
  if (gtXyxy.rank !== 2 || gtXyxy.shape[1] !== 4) {
    throw new TypeError(
      `Cannot match priors: gtXyxy must have shape [G, 4], got [${gtXyxy.shape}]`,
    );
  }
  const g = gtXyxy.shape[0];
  if (g === 0) return new Int32Array(pr.p).fill(-1);
  const gt = Float32Array.from(gtXyxy.dataSync());
  return matchIou(iouWithPriors(gt, pr), g, pr.p, options.iouThreshold ?? 0.5);
}

/**
 * Matches a batch and builds the loss targets: `priorsCxcywh [P, 4]` and one
 * {@link GroundTruth} per image → `locTargets [B, P, 4]` (offsets encoded with the variances,
 * 0 on background) and `clsTargets [B, P]` (0 = background). A degenerate (zero-width) ground
 * truth that gets matched encodes to −Infinity, as in torchvision: filter such boxes first.
 * The tensors are made from values on the CPU (no kernel runs), so this works on WebGPU.
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
  const pr = priorArrays(priorsCxcywh);
  const p = pr.p, b = targets.length;
  targets.forEach((t, k) => {
    if (t.boxes.length !== 4 * t.labels.length) {
      throw new TypeError(
        `Cannot match priors: targets[${k}] has ${
          t.boxes.length / 4
        } boxes and ${t.labels.length} labels`,
      );
    }
    const c = options.numClasses ?? Infinity;
    for (let i = 0; i < t.labels.length; i++) {
      if (!(t.labels[i] >= 1 && t.labels[i] < c) || !Number.isInteger(t.labels[i])) {
        const range = c === Infinity ? "≥ 1" : `in 1…${c - 1}`;
        throw new RangeError(
          `Cannot match priors: targets[${k}].labels must be integers ${range} (0 is background), got ${
            t.labels[i]
          }`,
        );
      }
    }
  });
  const [v0, v1] = options.variances ?? [0.1, 0.2];
  const k0 = f32(1 / v0), k1 = f32(1 / v1); // encodeBoxes multiplies by float32 1 / v
  const loc = new Float32Array(b * p * 4); // [B, P, 4], 0 on background
  const cls = new Int32Array(b * p); // [B, P]
  const matches: Int32Array[] = [];
  let numPositives = 0;
  for (let k = 0; k < b; k++) {
    const { boxes, labels } = targets[k];
    const g = labels.length;
    const gt = Float32Array.from(boxes); // [G, 4] xyxy
    const m = matchIou(iouWithPriors(gt, pr), g, p, options.iouThreshold ?? 0.5);
    matches.push(m);
    // encodeBoxes' float32 steps (torchvision's encode_boxes), gt side once per box
    const gw = new Float32Array(g), gh = new Float32Array(g);
    const gcx = new Float32Array(g), gcy = new Float32Array(g);
    for (let i = 0; i < g; i++) {
      gw[i] = f32(gt[i * 4 + 2] - gt[i * 4]);
      gh[i] = f32(gt[i * 4 + 3] - gt[i * 4 + 1]);
      gcx[i] = f32(gt[i * 4] + f32(gw[i] * 0.5));
      gcy[i] = f32(gt[i * 4 + 1] + f32(gh[i] * 0.5));
    }
    for (let j = 0; j < p; j++) {
      const i = m[j];
      if (i < 0) continue;
      numPositives++;
      cls[k * p + j] = labels[i];
      const o = (k * p + j) * 4;
      loc[o] = f32(k0 * f32(gcx[i] - pr.cx[j])) / pr.w[j];
      loc[o + 1] = f32(k0 * f32(gcy[i] - pr.cy[j])) / pr.h[j];
      loc[o + 2] = k1 * f32(Math.log(f32(gw[i] / pr.w[j])));
      loc[o + 3] = k1 * f32(Math.log(f32(gh[i] / pr.h[j])));
    }
  }
  return {
    locTargets: tf.tensor3d(loc, [b, p, 4]),
    clsTargets: tf.tensor2d(cls, [b, p], "int32"),
    matches,
    numPositives,
  };
}
