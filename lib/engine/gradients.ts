/**
 * Conv gradients written as forward convolutions, so training works on every tfjs backend:
 * wasm has no `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` or
 * `…BackpropInput`, and no backend differentiates a dilated conv (tfjs asserts dilation 1).
 *
 * For `y = conv2d(x, W)` with stride `s`, dilation `d` and padding top/left `pt, pl`
 * (NHWC; `W` is HWIO `[fh, fw, inC, outC]`):
 * - `dx` = conv2d(dy dilated by `s` and padded, `W` rotated 180° with in/out swapped),
 *   stride 1, dilation `d`;
 * - `dW` = conv2d(x as `[C, H, W, B]`, dy as the filter `[oh, ow, B, outC]`), stride `d`,
 *   dilation `s` — strides and dilations swap — giving `[C, fh, fw, outC]`, then transposed.
 * Depthwise convs use the same identities per channel.
 *
 * Fused convs (`tf.fused.conv2d`) compute their own gradient through the missing kernels:
 * models must train with an unfused `conv2d` followed by `add` and the activation.
 *
 * tfjs-core's Node/Deno bundle registers no gradients at all (not even for `Sum`); they ship
 * in the `@tensorflow/tfjs` union bundle. {@link registerTrainingGradients} loads it (about
 * 1 s, so only for training) and then installs the conv gradients here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { conv2dGradients } from "./gradients.ts";
 * await tf.setBackend("cpu");
 * const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
 * const w = tf.ones([2, 2, 1, 1]) as tf.Tensor4D;
 * const dy = tf.ones([1, 2, 2, 1]) as tf.Tensor4D; // valid, stride 1
 * const { dx, dw } = conv2dGradients(x, w, dy, { strides: 1, pad: "valid", dilations: 1 });
 * // each input pixel is seen by as many windows as cover it: corners 1, edges 2, centre 4
 * assert.deepEqual([...dx.dataSync()], [1, 2, 1, 2, 4, 2, 1, 2, 1]);
 * assert.deepEqual([...dw.dataSync()], [4, 4, 4, 4]);
 * tf.dispose([x, w, dy, dx, dw]);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Attributes of a conv, as tfjs's `Conv2D` / `DepthwiseConv2dNative` kernels carry them. */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: "same" | "valid" | number | [[number, number], [number, number], [number, number], [
    number,
    number,
  ]];
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  dataFormat?: "NHWC" | "NCHW";
}

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Pads (or, for negative amounts, crops) rows and columns of an NHWC tensor. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number) {
  const [, h, w] = t.shape;
  const cropped = tf.slice(t, [0, Math.max(0, -top), Math.max(0, -left), 0], [
    -1,
    h - Math.max(0, -top) - Math.max(0, -bottom),
    w - Math.max(0, -left) - Math.max(0, -right),
    -1,
  ]);
  const pads: Pad4 = [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [
    Math.max(0, left),
    Math.max(0, right),
  ], [0, 0]];
  return tf.pad(cropped, pads);
}

/** Inserts `s - 1` zero rows/columns between the rows/columns of `dy` `[B, oh, ow, C]`. */
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
  const flat = tf.reshape(spread, [b, oh * sh, ow * sw, c]) as tf.Tensor4D;
  return tf.slice(flat, [0, 0, 0, 0], [b, (oh - 1) * sh + 1, (ow - 1) * sw + 1, c]);
}

function convInfo(x: tf.Tensor4D, filterShape: number[], attrs: ConvAttrs, depthwise: boolean) {
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

/** `dy` dilated by the stride and padded so a stride-1 conv with dilation `d` yields `dx`. */
function spreadDy(dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw, inHeight, inWidth, padInfo } = info;
  const dyD = dilate(dy, [sh, sw]);
  const top = (fh - 1) * dh - padInfo.top;
  const left = (fw - 1) * dw - padInfo.left;
  const bottom = inHeight + (fh - 1) * dh - top - dyD.shape[1];
  const right = inWidth + (fw - 1) * dw - left - dyD.shape[2];
  return padOrCrop(dyD, top, bottom, left, right);
}

/** `x` cropped/padded so that a conv with stride `d` and dilation `s` over it gives `fh×fw`. */
function alignX(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw, outHeight: oh, outWidth: ow, padInfo } = info;
  const bottom = (fh - 1) * dh + (oh - 1) * sh + 1 - x.shape[1] - padInfo.top;
  const right = (fw - 1) * dw + (ow - 1) * sw + 1 - x.shape[2] - padInfo.left;
  return padOrCrop(x, padInfo.top, bottom, padInfo.left, right);
}

/**
 * Gradients of `conv2d(x, filter, attrs)` with respect to `x` and `filter`, given `dy`.
 *
 * @param x input `[B, H, W, inC]`
 * @param filter HWIO `[fh, fw, inC, outC]`
 * @param dy upstream gradient `[B, oh, ow, outC]`
 * @returns `dx` `[B, H, W, inC]` and `dw` `[fh, fw, inC, outC]`
 */
export function conv2dGradients(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: ConvAttrs,
): { dx: tf.Tensor4D; dw: tf.Tensor4D } {
  return { dx: conv2dInputGrad(x, filter, dy, attrs), dw: conv2dFilterGrad(x, filter, dy, attrs) };
}

function conv2dInputGrad(x: tf.Tensor4D, filter: tf.Tensor4D, dy: tf.Tensor4D, attrs: ConvAttrs) {
  return tf.tidy(() => {
    const info = convInfo(x, filter.shape, attrs, false);
    // rotate 180° and swap in/out: [fh, fw, outC, inC]
    const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const dilations: [number, number] = [info.dilationHeight, info.dilationWidth];
    return tf.conv2d(spreadDy(dy, info), rotated, 1, "valid", "NHWC", dilations); // [B, H, W, inC]
  });
}

function conv2dFilterGrad(x: tf.Tensor4D, filter: tf.Tensor4D, dy: tf.Tensor4D, attrs: ConvAttrs) {
  return tf.tidy(() => {
    const info = convInfo(x, filter.shape, attrs, false);
    // channels become the batch, the batch becomes channels; strides and dilations swap
    const xT = tf.transpose(alignX(x, info), [3, 1, 2, 0]) as tf.Tensor4D; // [inC, H', W', B]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, B, outC]
    const strides: [number, number] = [info.dilationHeight, info.dilationWidth];
    const dilations: [number, number] = [info.strideHeight, info.strideWidth];
    const dwT = tf.conv2d(xT, dyT, strides, "valid", "NHWC", dilations); // [inC, fh, fw, outC]
    return tf.transpose(dwT, [1, 2, 0, 3]) as tf.Tensor4D; // [fh, fw, inC, outC]
  });
}

/**
 * Gradients of `depthwiseConv2d(x, filter, attrs)` with respect to `x` and `filter`.
 *
 * @param x input `[B, H, W, C]`
 * @param filter `[fh, fw, C, M]` (M = channel multiplier)
 * @param dy upstream gradient `[B, oh, ow, C·M]` (output channel `c·M + m`)
 * @returns `dx` `[B, H, W, C]` and `dw` `[fh, fw, C, M]`
 */
export function depthwiseConv2dGradients(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: ConvAttrs,
): { dx: tf.Tensor4D; dw: tf.Tensor4D } {
  return {
    dx: depthwiseInputGrad(x, filter, dy, attrs),
    dw: depthwiseFilterGrad(x, filter, dy, attrs),
  };
}

function depthwiseInputGrad(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x, filter.shape, attrs, true);
    const [b, , , c] = x.shape;
    const m = filter.shape[3];
    const dilations: [number, number] = [info.dilationHeight, info.dilationWidth];
    const spread = spreadDy(dy, info); // [B, H + …, W + …, C·M]
    const [, ph, pw] = spread.shape;
    const perM = tf.reshape(spread, [b, ph, pw, c, m]);
    const rotated = tf.reverse(filter, [0, 1]);
    // one depthwise conv per multiplier slice, with the rotated filter
    const parts: tf.Tensor4D[] = [];
    for (let k = 0; k < m; k++) {
      const dyK = tf.reshape(tf.slice(perM, [0, 0, 0, 0, k], [-1, -1, -1, -1, 1]), [b, ph, pw, c]);
      const wK = tf.slice(rotated, [0, 0, 0, k], [-1, -1, -1, 1]) as tf.Tensor4D;
      parts.push(tf.depthwiseConv2d(dyK as tf.Tensor4D, wK, 1, "valid", "NHWC", dilations));
    }
    return (parts.length === 1 ? parts[0] : tf.addN(parts)) as tf.Tensor4D; // [B, H, W, C]
  });
}

function depthwiseFilterGrad(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x, filter.shape, attrs, true);
    const [b, , , c] = x.shape;
    const m = filter.shape[3];
    // (batch, channel) pairs become the channels of one image; dy becomes the filter
    const xA = alignX(x, info);
    const [, xh, xw] = xA.shape;
    const xT = tf.reshape(tf.transpose(xA, [1, 2, 0, 3]), [1, xh, xw, b * c]) as tf.Tensor4D;
    const [, oh, ow] = dy.shape;
    const dyT = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [oh, ow, b * c, m]) as tf.Tensor4D;
    const strides: [number, number] = [info.dilationHeight, info.dilationWidth];
    const dilations: [number, number] = [info.strideHeight, info.strideWidth];
    const out = tf.depthwiseConv2d(xT, dyT, strides, "valid", "NHWC", dilations); // [1, fh, fw, B·C·M]
    const [fh, fw] = [info.filterHeight, info.filterWidth];
    return tf.sum(tf.reshape(out, [fh, fw, b, c, m]), 2) as tf.Tensor4D; // [fh, fw, C, M]
  });
}

/**
 * Registers {@link conv2dGradients} and {@link depthwiseConv2dGradients} as the gradients of
 * tfjs's `Conv2D` and `DepthwiseConv2dNative` kernels, for every backend. Idempotent.
 */
export function registerConvGradients(): void {
  if (registered) return;
  const silence = console.warn; // tfjs warns that it overrides the built-in gradient
  console.warn = () => {};
  try {
    tf.registerGradient({
      kernelName: "Conv2D",
      inputsToSave: ["x", "filter"],
      gradFunc: (dy, saved, attrs) => {
        const [x, filter] = saved as tf.Tensor4D[];
        const a = attrs as unknown as ConvAttrs;
        return {
          x: () => conv2dInputGrad(x, filter, dy as tf.Tensor4D, a),
          filter: () => conv2dFilterGrad(x, filter, dy as tf.Tensor4D, a),
        };
      },
    });
    tf.registerGradient({
      kernelName: "DepthwiseConv2dNative",
      inputsToSave: ["x", "filter"],
      gradFunc: (dy, saved, attrs) => {
        const [x, filter] = saved as tf.Tensor4D[];
        const a = attrs as unknown as ConvAttrs;
        return {
          x: () => depthwiseInputGrad(x, filter, dy as tf.Tensor4D, a),
          filter: () => depthwiseFilterGrad(x, filter, dy as tf.Tensor4D, a),
        };
      },
    });
  } finally {
    console.warn = silence;
  }
  registered = true;
}

let registered = false;

/**
 * Makes tfjs able to train: loads tfjs's own gradients for every op (from the
 * `@tensorflow/tfjs` bundle, whose import-time banner is silenced), then
 * {@link registerConvGradients}. Idempotent.
 */
export async function registerTrainingGradients(): Promise<void> {
  if (tf.getGradient("Sum") === undefined) {
    const [log, warn] = [console.log, console.warn];
    console.log = console.warn = () => {};
    try {
      await import("@tensorflow/tfjs");
    } finally {
      [console.log, console.warn] = [log, warn];
    }
  }
  registered = false; // the bundle just re-registered tfjs's conv gradients
  registerConvGradients();
}
