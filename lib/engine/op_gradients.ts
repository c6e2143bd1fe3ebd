/**
 * Training ops that are fast on the threaded wasm backend: gradients of tfjs's own kernels that
 * give tfjs's values (up to float rounding) with faster kernels, and BatchNorm in training mode
 * as one op with its closed-form gradient ({@link batchNormTraining}).
 *
 * - `FusedBatchNorm`: tfjs-core expands 1/√(σ² + ε) to `[B, H, W, C]` with `Tile`, the
 *   slowest wasm kernel (~45% of a face-slim-320 step); here every `[C]` factor broadcasts.
 * - `Mean`, `Sum`: tfjs multiplies by `ones(x.shape)`, filled in JavaScript and copied into the
 *   wasm heap; here `fill` makes it in the backend.
 * - `Relu`: tfjs casts `step(x)` (already float32) to float32, a copy.
 * - `Add`, `Sub`: a broadcast operand's gradient is a sum over the leading axes, which wasm's
 *   `Sum` does after a transpose; {@link sumToLastAxis} pools instead.
 * - `PadV2`, `Concat`: the gradients cut `dy` without `Slice` ({@link cropHW}) or with one
 *   `Slice` row per outer index instead of one per innermost row.
 *
 * Why: under threaded wasm, the kernels written in JavaScript are the slow ones. `Slice` reads
 * its whole input back into a new JavaScript array, then copies row by row; `Identity` and
 * `Cast` copy through JavaScript too. XNNPACK's convs, pooling, matrix products and
 * element-wise ops run on every thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { batchNormTraining, sumToLastAxis } from "./op_gradients.ts";
 * await tf.setBackend("cpu");
 * assert.deepEqual([...sumToLastAxis(tf.tensor2d([[1, 2], [3, 4]])).dataSync()], [4, 6]);
 * // one channel, values 1 and 3: μ = 2, σ² = 1, y = (x − μ)/√(σ² + ε)·γ + β ≈ [−1, 1]
 * const x = tf.tensor4d([1, 3], [1, 1, 2, 1]);
 * const { y, mean, variance } = batchNormTraining(x, tf.ones([1]), tf.zeros([1]), 0);
 * assert.deepEqual([...y.dataSync(), ...mean.dataSync(), ...variance.dataSync()], [-1, 1, 2, 1]);
 * tf.dispose([x, y, mean, variance]);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Σ over every axis but the last, `[R, …, C]` → `[C]`. On wasm, the means of `avgPool` over each
 * of the R slices, times their size, summed: wasm's `Sum` transposes the channels to the front
 * first (~40 ms for 10 M values), XNNPACK's pooling takes ~1.5 ms, threaded over R. Elsewhere
 * `tf.sum`.
 */
export function sumToLastAxis(t: tf.Tensor): tf.Tensor1D {
  const c = t.shape[t.rank - 1];
  const rows = t.rank > 1 ? t.shape[0] : 1;
  const per = t.size / Math.max(1, c * rows);
  if (per === 0) return tf.zeros([c]);
  if (tf.getBackend() !== "wasm" || t.dtype !== "float32") {
    return tf.reshape(tf.sum(t, [...Array(t.rank - 1).keys()]), [c]);
  }
  const slices = tf.reshape(t, [rows, per, 1, c]) as tf.Tensor4D; // [R, M/R, 1, C]
  const means = tf.avgPool(slices, [per, 1], 1, "valid"); // [R, 1, 1, C]
  return tf.reshape(tf.sum(tf.mul(means, per), [0, 1, 2]), [c]); // [C]
}

/** Training-mode BatchNorm's output and the batch statistics it normalized with. */
export interface BatchNormTraining {
  /** `[B, H, W, C]` (x − μ)/√(σ² + ε)·γ + β. */
  y: tf.Tensor4D;
  /** `[C]` μ over B, H, W; not differentiable (for the running statistics). */
  mean: tf.Tensor1D;
  /** `[C]` biased σ² over B, H, W; not differentiable. */
  variance: tf.Tensor1D;
}

/**
 * BatchNorm on the batch's statistics (PyTorch's training mode) as one op with the closed-form
 * gradient (Ioffe & Szegedy 2015, §3): with x̂ = (x − μ)·r, r = 1/√(σ² + ε), N = B·H·W,
 * dβ = Σdy, dγ = Σdy·x̂, dx = γ·r·(dy − dβ/N − x̂·dγ/N). The same values as differentiating
 * `moments` + `batchNorm` op by op, in ~9 passes over `[B, H, W, C]` instead of ~25 (on wasm
 * `Mean` transposes, `FusedBatchNorm` is a scalar loop, and every saved input is copied).
 *
 * `mean` and `variance` are new tensors that no `tf.tidy` disposes: the caller disposes them.
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
): BatchNormTraining {
  const [b, h, w, c] = x.shape;
  if (x.rank !== 4 || gamma.shape.join() !== `${c}` || beta.shape.join() !== `${c}`) {
    throw new TypeError(
      `Cannot run BatchNorm: expected x [B, H, W, C] and ${c} scales and offsets, got ` +
        `[${x.shape}], [${gamma.shape}], [${beta.shape}]`,
    );
  }
  const n = b * h * w;
  let stats: tf.Tensor1D[] = [];
  const op = tf.customGrad((...args) => {
    const [xIn, g, bias, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mean = tf.div(sumToLastAxis(xIn), n) as tf.Tensor1D; // [C]
    const xc = tf.sub(xIn, mean); // [B, H, W, C]
    const variance = tf.div(sumToLastAxis(tf.mul(xc, xc)), n) as tf.Tensor1D; // [C]
    const r = tf.rsqrt(tf.add(variance, eps)); // [C]
    stats = [tf.keep(mean), tf.keep(variance)]; // the op runs in a tidy
    save([xc, r, g]);
    return {
      value: tf.add(tf.mul(xc, tf.mul(g, r)), bias) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor4D, [xcS, rS, gS]: tf.Tensor[]) => {
        const sumDy = sumToLastAxis(dy); // [C] = dβ
        const sumDyXc = sumToLastAxis(tf.mul(dy, xcS)); // [C] = dγ / r
        const gr = tf.mul(gS, rS); // [C]
        const perXc = tf.mul(tf.mul(gr, tf.mul(rS, rS)), tf.div(sumDyXc, -n)); // [C]
        const perDy = tf.mul(gr, tf.div(sumDy, -n)); // [C]
        const dx = tf.add(tf.add(tf.mul(dy, gr), tf.mul(xcS, perXc)), perDy); // [B, H, W, C]
        return [dx, tf.mul(rS, sumDyXc), sumDy];
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  return { y, mean: stats[0], variance: stats[1] };
}

/** `dy` summed over the axes `shape` was broadcast along, then reshaped to `shape`. */
function reduceTo(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  if (axes.length === 0) return tf.reshape(dy, shape);
  const last = dy.rank - 1;
  const leading = axes.length === last && axes.every((a, i) => a === i);
  if (leading && dy.dtype === "float32" && shape[shape.length - 1] === dy.shape[last]) {
    return tf.reshape(sumToLastAxis(dy), shape);
  }
  return tf.reshape(tf.sum(dy, axes), shape);
}

/**
 * Rows and columns cropped off an NHWC tensor: `[B, H, W, C]` → `[B, H − top − bottom,
 * W − left − right, C]`. On wasm, with a depthwise conv whose `(top + bottom + 1) ×
 * (left + right + 1)` filter is 1 at `(top, left)` and 0 elsewhere — exact for finite values
 * (a NaN or ±∞ would spread to its cropped-off neighbours' window) and ~10× faster than wasm's
 * `Slice`; elsewhere, and for crops wider than 5×5, with `tf.slice`.
 */
export function cropHW(
  t: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.Tensor4D {
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return t;
  const [b, h, w, c] = t.shape;
  const [kh, kw] = [top + bottom + 1, left + right + 1];
  if (tf.getBackend() !== "wasm" || t.dtype !== "float32" || kh * kw > 25) {
    return tf.slice(t, [0, top, left, 0], [b, h - top - bottom, w - left - right, c]);
  }
  const onehot = tf.buffer([kh, kw, c, 1], "float32");
  for (let ch = 0; ch < c; ch++) onehot.set(1, top, left, ch, 0);
  return tf.depthwiseConv2d(t, onehot.toTensor() as tf.Tensor4D, 1, "valid");
}

/**
 * `FusedBatchNorm` (`y = (x − μ)·γ/√(σ² + ε) + β`) with `[C]` statistics broadcast instead of
 * tiled. With r = 1/√(σ² + ε), per channel over B, H, W:
 * dx = dy·γ·r; dμ = −γ·r·Σdy; dσ² = −½·γ·r³·Σdy·(x − μ); dγ = r·Σdy·(x − μ); dβ = Σdy.
 * Statistics of `x`'s shape (not `[C]`) take the same formulas without the sums.
 */
const fusedBatchNormGrad: Grad = (dy, saved, attrs) => {
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const [x, mean, variance, scale] = saved;
  const perChannel = mean.rank === 1;
  // Σ over B, H, W when the statistics are per channel (else nothing to sum)
  const total = (t: tf.Tensor) => perChannel ? sumToLastAxis(t) : t;
  const r = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon))); // [C] (or x's shape)
  const gamma = scale ?? tf.scalar(1);
  // computed here, not in the closures: tfjs runs each closure in its own tidy
  const sumDy = total(dy); // [C]
  const sumDyXc = total(tf.mul(dy, tf.sub(x, mean))); // [C]
  return {
    x: () => tf.mul(dy, tf.mul(gamma, r)), // [B, H, W, C]
    mean: () => tf.reshape(tf.neg(tf.mul(tf.mul(gamma, r), sumDy)), mean.shape),
    variance: () => {
      const rCube = tf.mul(tf.mul(r, r), r);
      return tf.reshape(tf.mul(tf.mul(tf.mul(rCube, -0.5), gamma), sumDyXc), mean.shape);
    },
    scale: () => tf.reshape(tf.mul(r, sumDyXc), mean.shape),
    offset: () => tf.reshape(sumDy, mean.shape),
  };
};

/** `ones(x.shape)` of tfjs's `Mean` and `Sum` gradients, made by the backend (`Fill`). */
function spreadGrad(divide: boolean): Grad {
  return (dy, saved, attrs) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const keptShape = x.shape.map((n, i) => axes.includes(i) ? 1 : n);
    const count = axes.reduce((n, a) => n * x.shape[a], 1);
    const expanded = tf.reshape(dy, keptShape);
    // dy/N and dy·1 as tfjs computes them, broadcast against a filled tensor
    return {
      x: () =>
        divide
          ? tf.div(expanded, tf.fill(x.shape, count, "float32"))
          : tf.mul(expanded, tf.fill(x.shape, 1, "float32")),
    };
  };
}

/** A gradient of a single-output kernel: upstream `dy`, the saved inputs, the attributes. */
type Grad = (
  dy: tf.Tensor,
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
) => Record<string, () => tf.Tensor>;

const grad = (kernelName: string, inputsToSave: string[], f: Grad): tf.GradConfig => ({
  kernelName,
  inputsToSave,
  gradFunc: (dy, saved, attrs) => f(dy as tf.Tensor, saved, attrs),
});

/** `PadV2`'s gradient: the unpadded part of `dy`, cropped without `Slice` for NHWC H/W pads. */
const padGrad: Grad = (dy, [x], attrs) => {
  const pads = attrs.paddings as [number, number][];
  const hwOnly = x.rank === 4 && pads[0].every((p) => p === 0) && pads[3].every((p) => p === 0);
  if (!hwOnly) return { x: () => tf.slice(dy, pads.map((p) => p[0]), x.shape) };
  const [[top, bottom], [left, right]] = [pads[1], pads[2]];
  return { x: () => cropHW(dy as tf.Tensor4D, top, bottom, left, right) };
};

/**
 * `Concat`'s gradient: `dy` cut back into the inputs along the axis, as column ranges of `dy`
 * viewed as `[outer, axis · inner]`: wasm's `Slice` copies one innermost row per call (tfjs's
 * `split` of the head outputs `[B, P, 4]` makes B·P calls of 4 values).
 */
const concatGrad: Grad = (dy, saved, attrs) => {
  const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0].shape)[0];
  const outer = tf.util.sizeFromShape(dy.shape.slice(0, axis));
  const inner = tf.util.sizeFromShape(dy.shape.slice(axis + 1));
  const rows = tf.reshape(dy, [outer, dy.shape[axis] * inner]); // [outer, Σ sizes · inner]
  let start = 0;
  const parts: Record<string, () => tf.Tensor> = {};
  saved.forEach((t, i) => {
    const [begin, width] = [start, t.shape[axis] * inner];
    start += width;
    parts[i] = () => tf.reshape(tf.slice(rows, [0, begin], [outer, width]), t.shape);
  });
  return parts;
};

const GRADIENTS: tf.GradConfig[] = [
  grad("FusedBatchNorm", ["x", "mean", "variance", "scale"], fusedBatchNormGrad),
  grad("Mean", ["x"], spreadGrad(true)),
  grad("Sum", ["x"], spreadGrad(false)),
  grad("Relu", ["x"], (dy, [x]) => ({ x: () => tf.mul(dy, tf.step(x)) })), // step: float32
  grad("Add", ["a", "b"], (dy, [a, b]) => ({
    a: () => reduceTo(dy, a.shape),
    b: () => reduceTo(dy, b.shape),
  })),
  grad("Sub", ["a", "b"], (dy, [a, b]) => ({
    a: () => reduceTo(dy, a.shape),
    b: () => tf.neg(reduceTo(dy, b.shape)),
  })),
  grad("PadV2", ["x"], padGrad),
  { ...grad("Concat", [], concatGrad), saveAllInputs: true },
];

/**
 * Registers the gradients above for every backend, replacing tfjs's (with which they agree up
 * to float rounding). Call after tfjs's own gradients are loaded.
 */
export function registerOpGradients(): void {
  const silence = console.warn; // tfjs warns that it overrides the built-in gradient
  console.warn = () => {};
  try {
    for (const config of GRADIENTS) tf.registerGradient(config);
  } finally {
    console.warn = silence;
  }
}
