import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import {
  conv2dGradients,
  type ConvAttrs,
  depthwiseConv2dGradients,
  registerConvGradients,
  registerTrainingGradients,
} from "../lib/engine/gradients.ts";
import { useBackend } from "./model_helpers.ts";

await tf.setBackend("cpu");
// tfjs's own gradients (the cpu built-ins compared against below) come with the union bundle;
// load them without ours, which the last test registers.
const [log, warn] = [console.log, console.warn];
console.log = console.warn = () => {};
await import("@tensorflow/tfjs");
[console.log, console.warn] = [log, warn];

type Pad = "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  stride: number;
  dilation: number;
  pad: Pad;
}

/** Padding as TensorFlow defines it, computed here by hand (not by tfjs). */
function pads(size: number, f: number, s: number, d: number, pad: Pad, axis: 1 | 2) {
  const eff = (f - 1) * d + 1;
  if (pad === "valid") return { before: 0, out: Math.ceil((size - eff + 1) / s) };
  if (pad === "same") {
    const out = Math.ceil(size / s);
    const along = Math.max((out - 1) * s + eff - size, 0);
    return { before: Math.floor(along / 2), out };
  }
  const [b, a] = pad[axis];
  return { before: b, out: Math.floor((size + b + a - eff) / s) + 1 };
}

/**
 * Reference gradients by the definition: y[n,i,j,o] = Σ x[n, i·s + p·d − pt, j·s + q·d − pl, c] ·
 * w[p,q,c,o] (depthwise: o = c·M + m), so dx and dw accumulate dy times the other factor.
 */
function naiveGrads(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  dy: tf.Tensor4D,
  { stride: s, dilation: d, pad }: Case,
  depthwise: boolean,
) {
  const [B, H, W, C] = x.shape;
  const [fh, fw, , K] = w.shape;
  const xs = x.arraySync(), ws = w.arraySync(), dys = dy.arraySync();
  const ph = pads(H, fh, s, d, pad, 1), pw = pads(W, fw, s, d, pad, 2);
  const dx = x.shape.reduce((a, n) => a * n, 1);
  const dxv = new Float64Array(dx);
  const dwv = new Float64Array(w.size);
  for (let n = 0; n < B; n++) {
    for (let i = 0; i < ph.out; i++) {
      for (let j = 0; j < pw.out; j++) {
        for (let p = 0; p < fh; p++) {
          for (let q = 0; q < fw; q++) {
            const h = i * s + p * d - ph.before, v = j * s + q * d - pw.before;
            if (h < 0 || h >= H || v < 0 || v >= W) continue;
            for (let c = 0; c < C; c++) {
              for (let k = 0; k < K; k++) {
                const o = depthwise ? c * K + k : k;
                const wIdx = ((p * fw + q) * C + c) * K + k;
                const g = dys[n][i][j][o];
                dxv[((n * H + h) * W + v) * C + c] += g * ws[p][q][c][k];
                dwv[wIdx] += g * xs[n][h][v][c];
              }
            }
          }
        }
      }
    }
  }
  assert.deepEqual(dy.shape, [B, ph.out, pw.out, depthwise ? C * K : K], "dy shape");
  return { dx: dxv, dw: dwv };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  }
  assert.ok(worst < 1e-4, `${what}: max relative error ${worst}`);
}

const CASES: Case[] = [];
for (const stride of [1, 2]) {
  for (const pad of ["same", "valid", [[0, 0], [1, 2], [2, 0], [0, 0]]] as Pad[]) {
    CASES.push({ stride, dilation: 1, pad });
  }
}
for (const dilation of [2, 6]) {
  for (const pad of ["same", "valid", [[0, 0], [6, 6], [6, 6], [0, 0]]] as Pad[]) {
    CASES.push({ stride: 1, dilation, pad });
  }
}

function setup(c: Case, depthwise: boolean, seed: number) {
  const size = c.dilation === 6 ? 15 : 9;
  const x = tf.randomNormal([2, size, size - 1, 3], 0, 1, "float32", seed) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, depthwise ? 2 : 4], 0, 1, "float32", seed + 1) as tf.Tensor4D;
  const y = depthwise
    ? tf.depthwiseConv2d(x, w, c.stride, c.pad, "NHWC", c.dilation)
    : tf.conv2d(x, w, c.stride, c.pad, "NHWC", c.dilation);
  const dy = tf.randomNormal(y.shape, 0, 1, "float32", seed + 2) as tf.Tensor4D;
  y.dispose();
  const attrs: ConvAttrs = { strides: c.stride, pad: c.pad, dilations: c.dilation };
  return { x, w, dy, attrs };
}

const label = (c: Case) =>
  `stride ${c.stride}, dilation ${c.dilation}, pad ${JSON.stringify(c.pad)}`;

Deno.test("conv2dGradients() equals the gradient by definition (strides, paddings, dilations 1/2/6)", () => {
  CASES.forEach((c, n) => {
    const { x, w, dy, attrs } = setup(c, false, 10 * n);
    const { dx, dw } = conv2dGradients(x, w, dy, attrs);
    const ref = naiveGrads(x, w, dy, c, false);
    assertClose(dx.dataSync(), ref.dx, `dx, ${label(c)}`);
    assertClose(dw.dataSync(), ref.dw, `dw, ${label(c)}`);
    tf.dispose([x, w, dy, dx, dw]);
  });
});

Deno.test("conv2dGradients() equals the cpu backend's built-in gradients without dilation", () => {
  CASES.filter((c) => c.dilation === 1).forEach((c, n) => {
    const { x, w, dy, attrs } = setup(c, false, 100 + 10 * n);
    const [bx, bw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)
    )([x, w], dy);
    const { dx, dw } = conv2dGradients(x, w, dy, attrs);
    assertClose(dx.dataSync(), bx.dataSync(), `dx, ${label(c)}`);
    assertClose(dw.dataSync(), bw.dataSync(), `dw, ${label(c)}`);
    tf.dispose([x, w, dy, dx, dw, bx, bw]);
  });
});

Deno.test("conv2dGradients() agrees with finite differences on a dilated conv", () => {
  const c: Case = { stride: 1, dilation: 2, pad: "same" };
  const { x, w, dy, attrs } = setup(c, false, 7);
  const { dw } = conv2dGradients(x, w, dy, attrs);
  const loss = (wv: tf.Tensor4D) =>
    tf.tidy(() => tf.sum(tf.mul(tf.conv2d(x, wv, 1, "same", "NHWC", 2), dy)).dataSync()[0]);
  const eps = 1e-2;
  const got = dw.dataSync();
  for (const idx of [0, 17, 35, 71, 107]) {
    const bump = (sign: number) =>
      tf.tidy(() => {
        const delta = tf.buffer(w.shape);
        delta.values[idx] = sign * eps;
        return loss(tf.add(w, delta.toTensor()) as tf.Tensor4D);
      });
    const fd = (bump(1) - bump(-1)) / (2 * eps);
    assert.ok(
      Math.abs(fd - got[idx]) < 2e-2 * (1 + Math.abs(fd)),
      `dw[${idx}] ${got[idx]} vs ${fd}`,
    );
  }
  tf.dispose([x, w, dy, dw]);
});

Deno.test("depthwiseConv2dGradients() equals the gradient by definition (multiplier 2)", () => {
  const cases: Case[] = [
    { stride: 1, dilation: 1, pad: "same" },
    { stride: 2, dilation: 1, pad: "same" },
    { stride: 2, dilation: 1, pad: "valid" },
    { stride: 1, dilation: 2, pad: "same" },
    { stride: 1, dilation: 2, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  ];
  cases.forEach((c, n) => {
    const { x, w, dy, attrs } = setup(c, true, 300 + 10 * n);
    const { dx, dw } = depthwiseConv2dGradients(x, w, dy, attrs);
    const ref = naiveGrads(x, w, dy, c, true);
    assertClose(dx.dataSync(), ref.dx, `dx, ${label(c)}`);
    assertClose(dw.dataSync(), ref.dw, `dw, ${label(c)}`);
    tf.dispose([x, w, dy, dx, dw]);
  });
});

// Geometries where dx needs a crop (padding beyond the kernel's reach) or the strided path
// interleaves phases with a crop (top padding, odd sizes).
const CROP_CASES: Case[] = [
  { stride: 1, dilation: 1, pad: [[0, 0], [3, 0], [0, 4], [0, 0]] },
  { stride: 2, dilation: 1, pad: [[0, 0], [1, 0], [3, 1], [0, 0]] },
  { stride: 1, dilation: 2, pad: [[0, 0], [5, 1], [0, 0], [0, 0]] },
];

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`conv and depthwise gradients equal the gradient by definition on ${backend} (1×1, multipliers 1 and 2, crops)`, async () => {
    await useBackend(backend);
    [...CASES, ...CROP_CASES].forEach((c, n) => {
      for (const depthwise of [false, true]) {
        // [kernel, multiplier or out channels]: 1×1 convs take the matrix-product path
        const shapes = depthwise ? [[3, 1], [3, 2]] : [[3, 4], [1, 4]];
        for (const [k, m] of shapes) {
          const { x, w: w0, dy: dy0, attrs } = setup(c, depthwise, 700 + 10 * n);
          const w = tf.randomNormal([k, k, 3, m], 0, 1, "float32", 701 + 10 * n) as tf.Tensor4D;
          const y = depthwise
            ? tf.depthwiseConv2d(x, w, c.stride, c.pad, "NHWC", c.dilation)
            : tf.conv2d(x, w, c.stride, c.pad, "NHWC", c.dilation);
          const dy = tf.randomNormal(y.shape, 0, 1, "float32", 702 + 10 * n) as tf.Tensor4D;
          const before = tf.memory().numTensors;
          const { dx, dw } = (depthwise ? depthwiseConv2dGradients : conv2dGradients)(
            x,
            w,
            dy,
            attrs,
          );
          assert.equal(tf.memory().numTensors, before + 2, `${label(c)}: tensors leaked`);
          const ref = naiveGrads(x, w, dy, c, depthwise);
          const what = `${backend}, ${depthwise ? `depthwise ×${m}` : `conv ${k}×${k}`}, ${
            label(c)
          }`;
          assertClose(dx.dataSync(), ref.dx, `dx, ${what}`);
          assertClose(dw.dataSync(), ref.dw, `dw, ${what}`);
          tf.dispose([x, w0, w, dy0, dy, y, dx, dw]);
        }
      }
    });
    await tf.setBackend("cpu");
  });
}

Deno.test("registerConvGradients() makes dilated and depthwise convs trainable on cpu and wasm", async () => {
  await registerTrainingGradients();
  registerConvGradients(); // idempotent
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const c: Case = { stride: 1, dilation: 6, pad: "same" };
    const { x, w, dy } = setup(c, false, 500);
    const dw1 = tf.randomNormal([3, 3, 4, 1], 0, 1, "float32", 501) as tf.Tensor4D;
    const f = (a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) =>
      tf.depthwiseConv2d(
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same", "NHWC", 6),
        e as tf.Tensor4D,
        2,
        "same",
      );
    const step = () =>
      tf.tidy(() => {
        const g = tf.grads((a, b, e) => tf.sum(tf.square(f(a, b, e))))([x, w, dw1]);
        return g.map((t) => Float32Array.from(t.dataSync()));
      });
    const first = step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before, `${backend}: tensor count must not grow`);
    // the same gradients on both backends: compare with cpu results kept from the first pass
    if (backend === "cpu") cpuGrads = first;
    else first.forEach((g, i) => assertClose(g, cpuGrads[i], `wasm vs cpu grad ${i}`));
    tf.dispose([x, w, dy, dw1]);
  }
  await tf.setBackend("cpu");
});
let cpuGrads: ArrayLike<number>[] = [];
