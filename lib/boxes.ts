/**
 * Box formats, pairwise IoU and the SSD box coding, as tfjs ops. Boxes are normalized; corner
 * form `xyxy` = `[x1, y1, x2, y2]`, center form `cxcywh` = `[cx, cy, w, h]`.
 *
 * One coder serves training (`encodeBoxes`, used by the matcher for the loss targets) and
 * detection (`decodeBoxes`); a round-trip test ties them together.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** torchvision `BoxCoder.bbox_xform_clip`: decode clamps dw, dh (after variances) to this. */
export const DECODE_CLAMP_LOG: number = Math.log(1000 / 16);

/** Options of the box coder. */
export interface CoderOptions {
  /** `[center, size]` variances: 0.1, 0.2 (torchvision weights 10, 10, 5, 5). Default `[0.1, 0.2]`. */
  variances?: [number, number];
}

/** Options of {@link decodeBoxes}. */
export interface DecodeOptions extends CoderOptions {
  /**
   * Upper clamp of dw, dh (after the variance) before `exp`: torchvision's log(1000/16), the
   * default. `Infinity` turns it off (UltraFace does not clamp).
   */
  clampLog?: number;
}

/** Boxes, one per row: `[N, 4]` or batched `[B, N, 4]`; the format is the function's to say. */
export type Boxes = tf.Tensor2D | tf.Tensor3D;

function checkBoxes(what: string, name: string, t: tf.Tensor): void {
  if (t.rank < 2 || t.shape[t.rank - 1] !== 4) {
    throw new TypeError(`${what}: ${name} must have shape [..., 4], got [${t.shape}]`);
  }
}

/** The four coordinates of `[..., 4]` boxes as `[..., 1]` tensors. */
function unstack4(t: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.split(t, 4, t.rank - 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
}

/**
 * Center form to corner form: `[..., 4]` `cxcywh` → `[..., 4]` `xyxy` (x1 = cx − 0.5·w, as
 * torchvision's DefaultBoxGenerator).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { cxcywhToXyxy } from "./boxes.ts";
 * const xyxy = cxcywhToXyxy(tf.tensor2d([[0.5, 0.5, 0.2, 0.4]]));
 * assert.deepEqual(Array.from(xyxy.dataSync()).map((v) => +v.toFixed(6)), [0.4, 0.3, 0.6, 0.7]);
 * ```
 */
export function cxcywhToXyxy<T extends Boxes>(boxes: T): T {
  checkBoxes("Cannot convert boxes", "boxes", boxes);
  return tf.tidy(() => {
    const [cx, cy, w, h] = unstack4(boxes);
    const hw = tf.mul(w, 0.5), hh = tf.mul(h, 0.5);
    return tf.concat([tf.sub(cx, hw), tf.sub(cy, hh), tf.add(cx, hw), tf.add(cy, hh)], -1) as T;
  });
}

/**
 * Corner form to center form: `[..., 4]` `xyxy` → `[..., 4]` `cxcywh`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { xyxyToCxcywh } from "./boxes.ts";
 * const c = xyxyToCxcywh(tf.tensor2d([[0.4, 0.3, 0.6, 0.7]]));
 * assert.deepEqual(Array.from(c.dataSync()).map((v) => +v.toFixed(6)), [0.5, 0.5, 0.2, 0.4]);
 * ```
 */
export function xyxyToCxcywh<T extends Boxes>(boxes: T): T {
  checkBoxes("Cannot convert boxes", "boxes", boxes);
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = unstack4(boxes);
    const w = tf.sub(x2, x1), h = tf.sub(y2, y1);
    return tf.concat([tf.add(x1, tf.mul(w, 0.5)), tf.add(y1, tf.mul(h, 0.5)), w, h], -1) as T;
  });
}

/**
 * Pairwise IoU of `boxes1 [N, 4]` and `boxes2 [M, 4]`, both `xyxy` → `[N, M]`. The same
 * float32 operations as torchvision's `box_iou`: areas are not clamped (an inverted box has a
 * negative area), intersections are; two zero-area boxes give NaN as there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { boxIou } from "./boxes.ts";
 * const iou = boxIou(tf.tensor2d([[0, 0, 0.5, 0.5]]), tf.tensor2d([[0, 0, 0.5, 0.25], [0.5, 0, 1, 0.5]]));
 * assert.deepEqual(Array.from(iou.dataSync()), [0.5, 0]);
 * ```
 */
export function boxIou(boxes1: tf.Tensor2D, boxes2: tf.Tensor2D): tf.Tensor2D {
  if (boxes1.rank !== 2 || boxes1.shape[1] !== 4) {
    throw new TypeError(`Cannot compute IoU: boxes1 must have shape [N, 4], got [${boxes1.shape}]`);
  }
  if (boxes2.rank !== 2 || boxes2.shape[1] !== 4) {
    throw new TypeError(`Cannot compute IoU: boxes2 must have shape [M, 4], got [${boxes2.shape}]`);
  }
  return tf.tidy(() => {
    const [ax1, ay1, ax2, ay2] = unstack4(boxes1); // [N, 1] each
    const [cx1, cy1, cx2, cy2] = tf.split(tf.transpose(boxes2), 4, 0); // [1, M] each
    const area1 = tf.mul(tf.sub(ax2, ax1), tf.sub(ay2, ay1)); // [N, 1]
    const area2 = tf.mul(tf.sub(cx2, cx1), tf.sub(cy2, cy1)); // [1, M]
    const w = tf.relu(tf.sub(tf.minimum(ax2, cx2), tf.maximum(ax1, cx1))); // [N, M]
    const h = tf.relu(tf.sub(tf.minimum(ay2, cy2), tf.maximum(ay1, cy1)));
    const inter = tf.mul(w, h);
    return tf.div(inter, tf.sub(tf.add(area1, area2), inter)) as tf.Tensor2D;
  });
}

/**
 * Encodes matched ground-truth boxes against their priors (SSD paper eq. 2, with variances):
 * `gtXyxy [..., P, 4]` `xyxy` and `priorsCxcywh [P, 4]` → offsets `[..., P, 4]`
 * `(dx, dy, dw, dh)` with dx = (gcx − pcx) / (v0 · pw), dw = log(gw / pw) / v1. The float32
 * steps are torchvision's `BoxCoder(10, 10, 5, 5).encode_single` on the corner-form priors
 * (pw = x2 − x1 of the anchor), so the targets agree with its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { encodeBoxes } from "./boxes.ts";
 * const codes = encodeBoxes(tf.tensor2d([[0.45, 0.4, 0.65, 0.6]]), tf.tensor2d([[0.5, 0.5, 0.2, 0.2]]));
 * // dx = 0.05 / 0.2 / 0.1 = 2.5, dw = log(1) / 0.2 = 0
 * assert.deepEqual(Array.from(codes.dataSync()).map((v) => +v.toFixed(5) + 0), [2.5, 0, 0, 0]);
 * ```
 */
export function encodeBoxes<T extends Boxes>(
  gtXyxy: T,
  priorsCxcywh: tf.Tensor2D,
  options: CoderOptions = {},
): T {
  checkBoxes("Cannot encode boxes", "gtXyxy", gtXyxy);
  checkBoxes("Cannot encode boxes", "priorsCxcywh", priorsCxcywh);
  const [v0, v1] = options.variances ?? [0.1, 0.2];
  return tf.tidy(() => {
    // torchvision's encode_boxes step by step, with the priors in corner form as its anchors.
    const [px1, py1, px2, py2] = unstack4(cxcywhToXyxy(priorsCxcywh));
    const pw = tf.sub(px2, px1), ph = tf.sub(py2, py1);
    const pcx = tf.add(px1, tf.mul(pw, 0.5)), pcy = tf.add(py1, tf.mul(ph, 0.5));
    const [x1, y1, x2, y2] = unstack4(gtXyxy);
    const gw = tf.sub(x2, x1), gh = tf.sub(y2, y1);
    const gcx = tf.add(x1, tf.mul(gw, 0.5)), gcy = tf.add(y1, tf.mul(gh, 0.5));
    return tf.concat([
      tf.div(tf.mul(1 / v0, tf.sub(gcx, pcx)), pw),
      tf.div(tf.mul(1 / v0, tf.sub(gcy, pcy)), ph),
      tf.mul(1 / v1, tf.log(tf.div(gw, pw))),
      tf.mul(1 / v1, tf.log(tf.div(gh, ph))),
    ], -1) as T;
  });
}

/**
 * Decodes predicted offsets against the priors: `codes [..., P, 4]` `(dx, dy, dw, dh)` and
 * `priorsCxcywh [P, 4]` → boxes `[..., P, 4]` `xyxy`, cx = dx·v0·pw + pcx,
 * w = exp(min(dw·v1, clampLog))·pw. Not clipped to the image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { decodeBoxes } from "./boxes.ts";
 * const boxes = decodeBoxes(tf.tensor2d([[2.5, 0, 0, 0]]), tf.tensor2d([[0.5, 0.5, 0.2, 0.2]]));
 * assert.deepEqual(Array.from(boxes.dataSync()).map((v) => +v.toFixed(5)), [0.45, 0.4, 0.65, 0.6]);
 * ```
 */
export function decodeBoxes<T extends Boxes>(
  codes: T,
  priorsCxcywh: tf.Tensor2D,
  options: DecodeOptions = {},
): T {
  checkBoxes("Cannot decode boxes", "codes", codes);
  checkBoxes("Cannot decode boxes", "priorsCxcywh", priorsCxcywh);
  const [v0, v1] = options.variances ?? [0.1, 0.2];
  const clampLog = options.clampLog ?? DECODE_CLAMP_LOG;
  return tf.tidy(() => {
    const [dx, dy, dw, dh] = unstack4(codes);
    const [pcx, pcy, pw, ph] = unstack4(priorsCxcywh);
    const cx = tf.add(tf.mul(tf.mul(dx, v0), pw), pcx);
    const cy = tf.add(tf.mul(tf.mul(dy, v0), ph), pcy);
    const clamp = (t: tf.Tensor) => (Number.isFinite(clampLog) ? tf.minimum(t, clampLog) : t);
    const hw = tf.mul(tf.mul(tf.exp(clamp(tf.mul(dw, v1))), pw), 0.5);
    const hh = tf.mul(tf.mul(tf.exp(clamp(tf.mul(dh, v1))), ph), 0.5);
    return tf.concat([tf.sub(cx, hw), tf.sub(cy, hh), tf.add(cx, hw), tf.add(cy, hh)], -1) as T;
  });
}

/**
 * {@link decodeBoxes} on plain arrays, for paths that never touch tfjs (the onnxruntime
 * engine): `codes [N, 4]` flattened `(dx, dy, dw, dh)` with N = B·P (a batch of images, one
 * after the other) and `priorsCxcywh [P, 4]` flattened → boxes `[N, 4]` `xyxy`, prior
 * `i mod P` for row `i`. The same float32 steps as the tfjs coder (each product and sum
 * rounded to float32), so the two agree to float32 rounding of `exp`. Not clipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBoxesArray } from "./boxes.ts";
 * const boxes = decodeBoxesArray(new Float32Array([2.5, 0, 0, 0]), new Float32Array([0.5, 0.5, 0.2, 0.2]));
 * assert.deepEqual(Array.from(boxes).map((v) => +v.toFixed(5)), [0.45, 0.4, 0.65, 0.6]);
 * ```
 */
export function decodeBoxesArray(
  codes: Float32Array,
  priorsCxcywh: Float32Array,
  options: DecodeOptions = {},
): Float32Array {
  const p = priorsCxcywh.length / 4;
  if (!Number.isInteger(p) || p === 0 || codes.length % (4 * p) !== 0) {
    throw new TypeError(
      `Cannot decode boxes: codes must have shape [B·P, 4] for priors [P, 4], got ${codes.length} and ${priorsCxcywh.length} values`,
    );
  }
  const f = Math.fround;
  const [v0, v1] = (options.variances ?? [0.1, 0.2]).map(f);
  const clampLog = f(options.clampLog ?? DECODE_CLAMP_LOG);
  const clamp = (t: number) => (Number.isFinite(clampLog) ? Math.min(t, clampLog) : t);
  const out = new Float32Array(codes.length);
  for (let i = 0, n = codes.length / 4; i < n; i++) {
    const j = 4 * (i % p), k = 4 * i;
    const [pcx, pcy, pw, ph] = [
      priorsCxcywh[j],
      priorsCxcywh[j + 1],
      priorsCxcywh[j + 2],
      priorsCxcywh[j + 3],
    ];
    const cx = f(f(f(codes[k] * v0) * pw) + pcx);
    const cy = f(f(f(codes[k + 1] * v0) * ph) + pcy);
    const hw = f(f(f(Math.exp(clamp(f(codes[k + 2] * v1)))) * pw) * 0.5);
    const hh = f(f(f(Math.exp(clamp(f(codes[k + 3] * v1)))) * ph) * 0.5);
    out[k] = f(cx - hw);
    out[k + 1] = f(cy - hh);
    out[k + 2] = f(cx + hw);
    out[k + 3] = f(cy + hh);
  }
  return out;
}
