/**
 * The geometry shared by the conv gradients of `gradients.ts`: each gradient is a forward conv
 * (XNNPACK on wasm) whose padding, strides and dilations are worked out here, so that no `Pad`
 * or `Slice` kernel runs on the activations (under threaded wasm `Slice` copies the whole input
 * through JavaScript, ~20× slower than a conv pass), and the filters are rearranged with small
 * matrix products (wasm's `Reverse` and rank-6 `Transpose` are slow even on weights).
 *
 * For `y = conv2d(x, W)` with stride `s`, dilation `d` and padding top/left `pt, pl`
 * (NHWC; `W` is HWIO `[fh, fw, inC, outC]`):
 * - `dx` = conv2d(dy dilated by `s`, `W` rotated 180° with in/out swapped), stride 1,
 *   dilation `d`, padded to the input's size ({@link inputGrad}); for `s` > 1 the dilation's
 *   zeros are skipped by one conv that computes the s·s phases as channels
 *   ({@link stridedConv2dInputGrad});
 * - `dW` = conv2d(x laid out `[·, H, W, ·]`, dy as the filter), stride `d`, dilation `s`
 *   ({@link filterGrad}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { cropHW } from "./op_gradients.ts";

/** Attributes of a conv, as tfjs's `Conv2D` / `DepthwiseConv2dNative` kernels carry them. */
export interface ConvAttrs {
  /** Stride, one for both axes or `[sh, sw]`. */
  strides: number | [number, number];
  /**
   * Padding: `"same"`, `"valid"`, one amount for every side, or explicit NHWC
   * `[[0, 0], [top, bottom], [left, right], [0, 0]]`.
   */
  pad: "same" | "valid" | number | [[number, number], [number, number], [number, number], [
    number,
    number,
  ]];
  /** Dilation, one for both axes or `[dh, dw]`. Default 1. */
  dilations?: number | [number, number];
  /** How a numeric `pad` rounds the output size, as in tfjs. */
  dimRoundingMode?: "floor" | "round" | "ceil";
  /** Only `"NHWC"` (the default) is supported; `"NCHW"` is a `TypeError`. */
  dataFormat?: "NHWC" | "NCHW";
}

/** Explicit NHWC padding `[[0, 0], [top, bottom], [left, right], [0, 0]]`. */
export type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * A stride-1 conv of `t` with the given top/bottom/left/right padding, where a negative amount
 * crops: cropping a stride-1 conv's input by k rows at one side crops its output by k rows at
 * that side, so the conv pads the positive amounts itself (no `Pad` kernel) and the output is
 * cropped by the negative ones ({@link cropHW}; rare: padding wider than the kernel reaches).
 */
function convPadded(
  t: tf.Tensor4D,
  [top, bottom, left, right]: number[],
  conv: (input: tf.Tensor4D, pad: Pad4) => tf.Tensor4D,
): tf.Tensor4D {
  const p = (n: number) => Math.max(0, n);
  const out = conv(t, [[0, 0], [p(top), p(bottom)], [p(left), p(right)], [0, 0]]);
  return cropHW(out, p(-top), p(-bottom), p(-left), p(-right));
}

/** Inserts `s − 1` zero rows/columns after each row/column of `dy` `[B, oh, ow, C]`. */
function dilate(dy: tf.Tensor4D, [sh, sw]: [number, number]): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [b, oh, ow, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [b, oh, 1, ow, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]); // [B, oh, sh, ow, sw, C]
  return tf.reshape(spread, [b, oh * sh, ow * sw, c]) as tf.Tensor4D; // [B, oh·sh, ow·sw, C]
}

/**
 * Taps of `filter [fh, fw, a, b]` picked by flattened index (`p·fw + q`; −1 for a zero tap):
 * `[n, a·b]`, as the product of a 0/1 selection matrix with the taps. Exact for finite
 * weights; wasm's `Reverse`, `Gather` and rank-6 `Transpose` are 5–100× slower.
 */
function pickTaps(filter: tf.Tensor4D, source: number[]): tf.Tensor2D {
  const [fh, fw, a, b] = filter.shape;
  const select = tf.buffer([source.length, fh * fw], "float32");
  source.forEach((tap, i) => tap >= 0 && select.set(1, i, tap));
  const taps = tf.reshape(filter, [fh * fw, a * b]) as tf.Tensor2D; // [fh·fw, a·b]
  return tf.matMul(select.toTensor() as tf.Tensor2D, taps); // [n, a·b]
}

/** `filter [fh, fw, a, b]` rotated 180°: reversed along fh and fw, i.e. along the fh·fw taps. */
export function rotate180(filter: tf.Tensor4D): tf.Tensor4D {
  const k = filter.shape[0] * filter.shape[1];
  if (k === 1) return filter;
  return tf.reshape(pickTaps(filter, [...Array(k).keys()].reverse()), filter.shape);
}

/** tfjs's geometry of the conv (output size, padding) for NHWC; refuses NCHW. */
export function convInfo(
  x: tf.Tensor4D,
  filterShape: number[],
  attrs: ConvAttrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === "NCHW") {
    throw new TypeError("Cannot differentiate conv: expected dataFormat NHWC, got NCHW");
  }
  return tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
}

/**
 * `dx` of a conv as a stride-1 conv (dilation `d`) of `dy` dilated by the stride, padded so the
 * output has the input's size: `conv(input, pad)` is that conv with the rotated filter.
 */
export function inputGrad(
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  conv: (input: tf.Tensor4D, pad: Pad4) => tf.Tensor4D,
): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw, inHeight, inWidth, padInfo } = info;
  const dyD = dilate(dy, [sh, sw]); // [B, oh·sh, ow·sw, C]
  const top = (fh - 1) * dh - padInfo.top;
  const left = (fw - 1) * dw - padInfo.left;
  const bottom = inHeight + (fh - 1) * dh - top - dyD.shape[1];
  const right = inWidth + (fw - 1) * dw - left - dyD.shape[2];
  return convPadded(dyD, [top, bottom, left, right], conv); // [B, H, W, C]
}

/**
 * `dx` of a strided conv2d without dilating `dy` (whose zeros would be 3/4 of a stride-2 conv's
 * work): input position u = h + pt = s·m + a takes taps p = a + s·k from dy[m − k], so one
 * stride-1 conv of `dy` with a ⌈fh/s⌉ × ⌈fw/s⌉ filter gives, for every m, all s·s phases (a, b)
 * as channels `[…, (a, b, c)]`, which are then interleaved into rows and columns.
 */
export function stridedConv2dInputGrad(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, padInfo, inHeight, inWidth } = info;
  const [fh, fw, inC, outC] = filter.shape;
  const [kh, kw] = [Math.ceil(fh / sh), Math.ceil(fw / sw)];
  const [b, oh, ow] = dy.shape;
  // tap (t, u) of phase (i, j) is the forward tap (i + sh·(kh − 1 − t), j + sw·(kw − 1 − u)):
  // dy[m − k] pairs with forward tap i + sh·k, and a correlation reads it at t = kh − 1 − k
  const source: number[] = [];
  for (let t = 0; t < kh; t++) {
    for (let u = 0; u < kw; u++) {
      for (let i = 0; i < sh; i++) {
        for (let j = 0; j < sw; j++) {
          const [p, q] = [i + sh * (kh - 1 - t), j + sw * (kw - 1 - u)];
          source.push(p < fh && q < fw ? p * fw + q : -1);
        }
      }
    }
  }
  const swapped = tf.transpose(filter, [0, 1, 3, 2]) as tf.Tensor4D; // [fh, fw, outC, inC]
  const picked = tf.reshape(pickTaps(swapped, source), [kh * kw, sh * sw, outC, inC]);
  const combined = tf.reshape(tf.transpose(picked, [0, 2, 1, 3]), [kh, kw, outC, sh * sw * inC]);
  const [mh, mw] = [
    Math.ceil((padInfo.top + inHeight) / sh),
    Math.ceil((padInfo.left + inWidth) / sw),
  ];
  const out = convPadded(
    dy,
    [kh - 1, mh - oh, kw - 1, mw - ow],
    (t, pad) => tf.conv2d(t, combined as tf.Tensor4D, 1, pad),
  ); // [B, mh, mw, (i, j, inC)]
  // interleave the phases: [B·mh, mw, sh, sw·inC] → [B·mh, sh, mw, sw·inC]
  const rows = tf.transpose(tf.reshape(out, [b * mh, mw, sh, sw * inC]), [0, 2, 1, 3]);
  const full = tf.reshape(rows, [b, mh * sh, mw * sw, inC]) as tf.Tensor4D; // u = 0 … mh·sh − 1
  const [top, left] = [padInfo.top, padInfo.left];
  return cropHW(full, top, mh * sh - top - inHeight, left, mw * sw - left - inWidth);
}

/** A conv of `input` with `filter`: explicit padding, strides and dilations `[h, w]`. */
export type ConvFn = (
  input: tf.Tensor4D,
  filter: tf.Tensor4D,
  pad: Pad4,
  strides: [number, number],
  dilations: [number, number],
) => tf.Tensor4D;

/**
 * `dw` as a conv over `x` laid out `[·, H, W, ·]` (batch and channels swapped, or merged) with
 * `dy` as the filter: stride `d`, dilation `s` and the forward conv's padding, so the output is
 * `fh × fw`. Rows and columns that no window reaches are cropped off first ({@link cropHW}).
 */
export function filterGrad(
  xL: tf.Tensor4D,
  dyL: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  conv: ConvFn,
): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw, outHeight: oh, outWidth: ow, padInfo } = info;
  const bottom = (fh - 1) * dh + (oh - 1) * sh + 1 - xL.shape[1] - padInfo.top;
  const right = (fw - 1) * dw + (ow - 1) * sw + 1 - xL.shape[2] - padInfo.left;
  const p = (n: number) => Math.max(0, n);
  const input = cropHW(xL, 0, p(-bottom), 0, p(-right));
  const pad: Pad4 = [[0, 0], [padInfo.top, p(bottom)], [padInfo.left, p(right)], [0, 0]];
  return conv(input, dyL, pad, [dh, dw], [sh, sw]); // [·, fh, fw, ·]
}
