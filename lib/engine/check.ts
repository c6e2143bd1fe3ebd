/**
 * A small forward pass that exercises the conv kernels an SSD uses — 3×3 stride 1, stride 2,
 * depthwise, dilation 6 (as fc6), 1×1 — run on the current backend from fixed inputs, so
 * results from different backends can be compared.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { runConvCheck } from "./check.ts";
 * await tf.setBackend("cpu");
 * const before = tf.memory().numTensors;
 * const out = await runConvCheck();
 * assert.equal(out.length, 8 * 8 * 16); // [1, 8, 8, 16]
 * assert.equal(tf.memory().numTensors, before);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Deterministic values in [-1, 1) (a linear congruential generator, seed fixed). */
function fixedValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Runs the check network on the current backend.
 *
 * Reads back asynchronously (WebGPU cannot read synchronously under Deno).
 *
 * @returns the output `[1, 8, 8, 16]` flattened (input `[1, 32, 32, 8]`)
 */
export async function runConvCheck(): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const t = (shape: number[], seed: number, scale = 0.2) =>
      tf.mul(tf.tensor(fixedValues(shape.reduce((a, b) => a * b, 1), seed), shape), scale);
    const x = t([1, 32, 32, 8], 1, 1) as tf.Tensor4D; // [1, 32, 32, 8]
    let y = tf.relu(tf.conv2d(x, t([3, 3, 8, 16], 2) as tf.Tensor4D, 1, "same")); // [1, 32, 32, 16]
    y = tf.relu(tf.conv2d(y as tf.Tensor4D, t([3, 3, 16, 16], 3) as tf.Tensor4D, 2, "same")); // [1, 16, 16, 16]
    y = tf.relu(
      tf.depthwiseConv2d(y as tf.Tensor4D, t([3, 3, 16, 1], 4) as tf.Tensor4D, 1, "same"),
    ); // [1, 16, 16, 16]
    y = tf.relu(
      tf.conv2d(y as tf.Tensor4D, t([3, 3, 16, 16], 5) as tf.Tensor4D, 1, "same", "NHWC", 6),
    ); // dilated
    y = tf.conv2d(y as tf.Tensor4D, t([3, 3, 16, 16], 6) as tf.Tensor4D, 2, "same"); // [1, 8, 8, 16]
    y = tf.add(
      tf.conv2d(y as tf.Tensor4D, t([1, 1, 16, 16], 7) as tf.Tensor4D, 1, "valid"),
      t([16], 8),
    );
    return y;
  });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot compare: lengths differ, ${a.length} vs ${b.length}`);
  }
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
