import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { registerTrainingGradients } from "../lib/engine/gradients.ts";
import { batchNormTraining, sumToLastAxis } from "../lib/engine/op_gradients.ts";
import { maxDiff, useBackend } from "./model_helpers.ts";

// The reference is tfjs's own gradients (the @tensorflow/tfjs bundle), captured before ours
// replace them, and finite differences in float64 for the BatchNorm op.
await useBackend("cpu");
const [log, warn] = [console.log, console.warn];
console.log = console.warn = () => {};
await import("@tensorflow/tfjs");
[console.log, console.warn] = [log, warn];
const KERNELS = ["FusedBatchNorm", "Mean", "Sum", "Relu", "Add", "Sub", "PadV2", "Concat"];
const STOCK = KERNELS.map((k) => tf.getGradient(k)!);
await registerTrainingGradients();
const OURS = KERNELS.map((k) => tf.getGradient(k)!);

/** Gradients of `f` at `xs` against `dy` with the given gradient registrations. */
function gradsWith(
  configs: tf.GradConfig[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  dy: tf.Tensor,
) {
  const silence = console.warn;
  console.warn = () => {};
  try {
    configs.forEach((c) => tf.registerGradient(c));
    return tf.tidy(() => tf.grads(f)(xs, dy).map((g) => Float32Array.from(g.dataSync())));
  } finally {
    OURS.forEach((c) => tf.registerGradient(c));
    console.warn = silence;
  }
}

const rand = (shape: number[], seed: number, mean = 0) =>
  tf.randomNormal(shape, mean, 1, "float32", seed);

/** [what, function of the inputs, input shapes] — each runs one kernel whose gradient we replace. */
const CASES: [string, (...xs: tf.Tensor[]) => tf.Tensor, number[][]][] = [
  [
    "batchNorm, [C] statistics",
    (x, m, v, o, s) =>
      tf.batchNorm4d(
        x as tf.Tensor4D,
        m as tf.Tensor1D,
        tf.abs(v) as tf.Tensor1D,
        o as tf.Tensor1D,
        s as tf.Tensor1D,
        1e-3,
      ),
    [[2, 5, 4, 3], [3], [3], [3], [3]],
  ],
  [
    "batchNorm, statistics of x's shape",
    (x, m, v, o, s) =>
      tf.batchNorm4d(
        x as tf.Tensor4D,
        m as tf.Tensor4D,
        tf.abs(v) as tf.Tensor4D,
        o as tf.Tensor4D,
        s as tf.Tensor4D,
        1e-3,
      ),
    [[2, 3, 2, 3], [2, 3, 2, 3], [2, 3, 2, 3], [2, 3, 2, 3], [2, 3, 2, 3]],
  ],
  ["mean over B, H, W", (x) => tf.mean(x, [0, 1, 2]), [[2, 5, 4, 3]]],
  ["mean over W, kept", (x) => tf.mean(x, 2, true), [[2, 5, 4, 3]]],
  ["sum over H", (x) => tf.sum(x, 1), [[2, 5, 4, 3]]],
  ["relu", (x) => tf.relu(x), [[2, 5, 4, 3]]],
  ["add, [C] broadcast", (a, b) => tf.add(a, b), [[2, 5, 4, 3], [3]]],
  ["add, [B, 1, 1, C] broadcast", (a, b) => tf.add(a, b), [[2, 5, 4, 3], [2, 1, 1, 3]]],
  ["sub, [1, 1, 1, C] from x and x from it", (a, b) => tf.add(tf.sub(a, b), tf.sub(b, a)), [[
    2,
    5,
    4,
    3,
  ], [1, 1, 1, 3]]],
  ["pad of H and W", (x) => tf.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]), [[2, 5, 4, 3]]],
  ["pad of B and C", (x) => tf.pad(x, [[1, 0], [0, 0], [0, 0], [2, 1]]), [[2, 5, 4, 3]]],
  ["concat along P", (a, b, c) => tf.concat([a, b, c], 1), [[2, 6, 4], [2, 3, 4], [2, 1, 4]]],
  ["concat along C", (a, b) => tf.concat([a, b], 3), [[2, 5, 4, 3], [2, 5, 4, 2]]],
];

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`registerTrainingGradients() gradients equal tfjs's own on ${backend} (${KERNELS.join(", ")})`, async () => {
    await useBackend(backend);
    CASES.forEach(([what, f, shapes], n) => {
      const xs = shapes.map((s, i) => rand(s, 10 * n + i, i === 0 ? 0.5 : 0));
      const y = tf.tidy(() => f(...xs));
      const dy = rand(y.shape, 10 * n + 9);
      const before = tf.memory().numTensors;
      const ours = gradsWith(OURS, f, xs, dy);
      assert.equal(tf.memory().numTensors, before, `${what}: tensors leaked`);
      const stock = gradsWith(STOCK, f, xs, dy);
      ours.forEach((g, i) => {
        const { rel } = maxDiff(g, stock[i]);
        assert.ok(rel < 1e-5, `${what}, input ${i}: max relative difference ${rel}`);
      });
      tf.dispose([...xs, y, dy]);
    });
  });

  Deno.test(`batchNormTraining() equals moments + batchNorm with tfjs's gradients on ${backend}`, async () => {
    await useBackend(backend);
    const x = rand([4, 6, 5, 3], 1, 2) as tf.Tensor4D; // mean 2: the mean matters
    const gamma = rand([3], 2) as tf.Tensor1D, beta = rand([3], 3) as tf.Tensor1D;
    const dy = rand(x.shape, 4);
    const reference = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const m = tf.moments(a, [0, 1, 2]);
      return tf.batchNorm4d(
        a as tf.Tensor4D,
        m.mean as tf.Tensor1D,
        m.variance as tf.Tensor1D,
        b as tf.Tensor1D,
        g as tf.Tensor1D,
        1e-3,
      );
    };
    const refGrads = gradsWith(STOCK, reference, [x, gamma, beta], dy);
    const ref = tf.tidy(() => {
      const m = tf.moments(x, [0, 1, 2]);
      return [reference(x, gamma, beta), m.mean, m.variance].map((t) =>
        Float32Array.from(t.dataSync())
      );
    });
    const before = tf.memory().numTensors;
    const ours = tf.tidy(() => {
      const out = batchNormTraining(x, gamma, beta, 1e-3);
      const values = [out.y, out.mean, out.variance].map((t) => Float32Array.from(t.dataSync()));
      let stats: tf.Tensor[] = [];
      const grads = tf.grads((a, g, b) => {
        const o = batchNormTraining(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3);
        stats = [o.mean, o.variance]; // the caller's, as documented
        return o.y;
      })([x, gamma, beta], dy);
      tf.dispose([out.mean, out.variance, ...stats]);
      return [...values, ...grads.map((t) => Float32Array.from(t.dataSync()))];
    });
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
    [...ref, ...refGrads].forEach((r, i) => {
      const { rel } = maxDiff(ours[i], r);
      assert.ok(rel < 1e-4, `${["y", "mean", "variance", "dx", "dγ", "dβ"][i]}: ${rel}`);
    });
    // and a float64 central difference of Σ dy·y by the definition, for a few inputs
    const [xs, gs, bs, dys] = [x, gamma, beta, dy].map((t) => Float64Array.from(t.dataSync()));
    const loss = (xv: Float64Array, gv: Float64Array, bv: Float64Array) => {
      const c = 3, n = xv.length / c;
      let total = 0;
      for (let ch = 0; ch < c; ch++) {
        let mu = 0, v = 0;
        for (let i = ch; i < xv.length; i += c) mu += xv[i] / n;
        for (let i = ch; i < xv.length; i += c) v += (xv[i] - mu) ** 2 / n;
        for (let i = ch; i < xv.length; i += c) {
          total += dys[i] * ((xv[i] - mu) / Math.sqrt(v + 1e-3) * gv[ch] + bv[ch]);
        }
      }
      return total;
    };
    const h = 1e-4;
    const probes: [Float64Array, number, number][] = [[xs, 0, 3], [xs, 57, 3], [xs, 359, 3], [
      gs,
      1,
      4,
    ], [bs, 2, 5]];
    for (const [v, i, at] of probes) {
      const keep = v[i];
      v[i] = keep + h;
      const up = loss(xs, gs, bs);
      v[i] = keep - h;
      const down = loss(xs, gs, bs);
      v[i] = keep;
      const fd = (up - down) / (2 * h);
      const got = ours[at][i];
      assert.ok(
        Math.abs(got - fd) < 1e-3 * (1 + Math.abs(fd)),
        `input ${at}[${i}]: ${got} vs ${fd}`,
      );
    }
    tf.dispose([x, gamma, beta, dy]);
  });
}

Deno.test("sumToLastAxis() sums over every axis but the last, on cpu and wasm", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    const t = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    assert.deepEqual([...sumToLastAxis(t).dataSync()], [9, 12]); // by hand
    const x = rand([4, 30, 20, 5], 5, 1);
    const { rel } = maxDiff(sumToLastAxis(x).dataSync(), tf.sum(x, [0, 1, 2]).dataSync());
    assert.ok(rel < 1e-5, `${backend}: ${rel}`);
    tf.tidy(() => assert.deepEqual([...sumToLastAxis(tf.zeros([0, 3])).dataSync()], [0, 0, 0]));
    tf.dispose([t, x]);
  }
});
