/**
 * Conv gradients written as forward convolutions, so training works on every tfjs backend:
 * wasm has no `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` or
 * `…BackpropInput`, and no backend differentiates a dilated conv (tfjs asserts dilation 1).
 * `conv_grad_geometry.ts` holds the identities and their padding; here they are applied:
 * - conv2d `dx`: a conv of `dy` with the rotated filter (strided convs: all phases at once);
 * - conv2d `dW`: a conv of `x` as `[inC, H, W, B]` with `dy` as the filter `[oh, ow, B, outC]`;
 *   for a 1×1 stride-1 conv, the matrix product xᵀ·dy over the B·H·W pixels;
 * - depthwise `dx`: a depthwise conv of `dy` with the rotated filter, per multiplier slice;
 * - depthwise `dW`: at stride 1 (multiplier 1) tap by tap, a product of `x` with `dy` shifted
 *   by the tap summed over B, H, W; else a depthwise conv of `x` as `[1, H, W, B·C]` with `dy`
 *   as the filter.
 *
 * Fused convs (`tf.fused.conv2d`) compute their own gradient through the missing kernels:
 * models must train with an unfused `conv2d` followed by `add` and the activation.
 *
 * tfjs-core's Node/Deno bundle registers no gradients at all (not even for `Sum`); they ship
 * in the `@tensorflow/tfjs` union bundle. {@link registerTrainingGradients} loads it (about
 * 1 s, so only for training), then installs the conv gradients here and the faster gradients
 * of tfjs's own kernels from `op_gradients.ts` (BatchNorm, Mean, Sum, Relu, Add, Sub, Pad,
 * Concat).
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
import {
  type ConvAttrs,
  type ConvFn,
  convInfo,
  filterGrad,
  inputGrad,
  type Pad4,
  rotate180,
  stridedConv2dInputGrad,
} from "./conv_grad_geometry.ts";
import { registerOpGradients, sumToLastAxis } from "./op_gradients.ts";

export type { ConvAttrs };

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
    if (info.strideHeight * info.strideWidth > 1) return stridedConv2dInputGrad(dy, filter, info);
    // rotate 180° and swap in/out: [fh, fw, outC, inC]
    const rotated = tf.transpose(rotate180(filter), [0, 1, 3, 2]) as tf.Tensor4D;
    const dilations: [number, number] = [info.dilationHeight, info.dilationWidth];
    return inputGrad(dy, info, (t, pad) => tf.conv2d(t, rotated, 1, pad, "NHWC", dilations));
  });
}

function conv2dFilterGrad(x: tf.Tensor4D, filter: tf.Tensor4D, dy: tf.Tensor4D, attrs: ConvAttrs) {
  return tf.tidy(() => {
    const info = convInfo(x, filter.shape, attrs, false);
    const [b, h, w, inC] = x.shape;
    const outC = filter.shape[3];
    const { padInfo: p, strideHeight: sh, strideWidth: sw } = info;
    const unpadded = p.top + p.bottom + p.left + p.right === 0;
    if (info.filterHeight * info.filterWidth === 1 && sh * sw === 1 && unpadded) {
      // 1×1, stride 1: dw = xᵀ·dy over the B·H·W pixels, a plain matrix product
      const xT = tf.transpose(tf.reshape(x, [b * h * w, inC])); // [inC, B·H·W]
      const dy2 = tf.reshape(dy, [b * h * w, outC]); // [B·H·W, outC]
      return tf.reshape(tf.matMul(xT, dy2), [1, 1, inC, outC]) as tf.Tensor4D;
    }
    // channels become the batch, the batch becomes channels; strides and dilations swap
    const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [inC, H, W, B]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, B, outC]
    const conv: ConvFn = (t, f, pad, s, d) => tf.conv2d(t, f, s, pad, "NHWC", d);
    const dwT = filterGrad(xT, dyT, info, conv); // [inC, fh, fw, outC]
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
    const rotated = rotate180(filter); // [fh, fw, C, M]
    const dwconv = (w: tf.Tensor4D) => (t: tf.Tensor4D, pad: Pad4) =>
      tf.depthwiseConv2d(t, w, 1, pad, "NHWC", dilations);
    if (m === 1) return inputGrad(dy, info, dwconv(rotated)); // [B, H, W, C]
    // one depthwise conv per multiplier slice of dy, with that slice of the rotated filter
    const [, oh, ow] = dy.shape;
    const perM = tf.reshape(dy, [b, oh, ow, c, m]);
    const parts: tf.Tensor4D[] = [];
    for (let k = 0; k < m; k++) {
      const dyK = tf.reshape(tf.slice(perM, [0, 0, 0, 0, k], [-1, -1, -1, -1, 1]), [b, oh, ow, c]);
      const wK = tf.slice(rotated, [0, 0, 0, k], [-1, -1, -1, 1]) as tf.Tensor4D;
      parts.push(inputGrad(dyK as tf.Tensor4D, info, dwconv(wK)));
    }
    return tf.addN(parts) as tf.Tensor4D; // [B, H, W, C]
  });
}

/**
 * `dw` of a stride-1 depthwise conv (multiplier 1) tap by tap: dw[p, q, c] = Σ over B, H, W of
 * x padded ⊙ dy placed at (p·d, q·d), i.e. a pad, a product and a pooled sum per tap — ~1.5×
 * faster on wasm than one depthwise conv with `dy` as an oh × ow filter.
 */
function depthwiseFilterGradByTap(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, bottom, left, right } = info.padInfo;
  const xp = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]); // [B, Hp, Wp, C]
  const [, hp, wp] = xp.shape;
  const [, oh, ow] = dy.shape;
  const taps: tf.Tensor1D[] = [];
  for (let p = 0; p < fh; p++) {
    for (let q = 0; q < fw; q++) {
      const [t, l] = [p * dh, q * dw];
      const placed = tf.pad(dy, [[0, 0], [t, hp - oh - t], [l, wp - ow - l], [0, 0]]);
      taps.push(sumToLastAxis(tf.mul(xp, placed))); // [C]
    }
  }
  return tf.reshape(tf.stack(taps), [fh, fw, x.shape[3], 1]) as tf.Tensor4D; // [fh, fw, C, 1]
}

function depthwiseFilterGrad(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x, filter.shape, attrs, true);
    const [b, h, w, c] = x.shape;
    const m = filter.shape[3];
    if (m === 1 && info.strideHeight * info.strideWidth === 1) {
      return depthwiseFilterGradByTap(x, dy, info);
    }
    // (batch, channel) pairs become the channels of one image; dy becomes the filter
    const xT = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, b * c]) as tf.Tensor4D;
    const [, oh, ow] = dy.shape;
    const dyT = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [oh, ow, b * c, m]) as tf.Tensor4D;
    const conv: ConvFn = (t, f, pad, s, d) => tf.depthwiseConv2d(t, f, s, pad, "NHWC", d);
    const out = filterGrad(xT, dyT, info, conv); // [1, fh, fw, B·C·M]
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
  registerOpGradients();
}
