import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type * as Ort from "onnxruntime-node";
import { conv2dGradients, depthwiseConv2dGradients } from "../lib/engine/gradients.ts";
import { nchwcBlock } from "../lib/engine/onnx_nchwc.ts";
import { convBackward } from "../lib/engine/onnx_train_graph.ts";
import { floatValueInfo, OnnxGraphBuilder } from "../lib/export/onnx_builder.ts";
import type { ConvNode } from "../lib/model/graph_ir.ts";
import { makeRng } from "../lib/data/rng.ts";
import { maxDiff, useBackend } from "./model_helpers.ts";

// The step graph's conv gradients (dx, dW, db in onnxruntime) against tfjs's conv gradients
// (lib/engine/gradients.ts, themselves checked against PyTorch), over the geometries each
// lowering branch takes: the per-tap NHWC product and the im2col one (under 16 input channels),
// SpaceToDepth phase windows (stride 2, with and without a crop), dilation, the flipped
// conv (in ONNX's Conv and, where this machine has it, onnxruntime's NCHWc kernel) and
// ConvTranspose input gradients, depthwise and dense, odd sizes; with the NCHWc kernel and a fixed
// batch, the depthwise filter gradient as one conv of B·C images.
type Case = Omit<ConvNode, "op" | "input" | "weight" | "bias"> & { h: number; w: number };

/** A case: channels in and out, kernel, stride, padding, dilation, depthwise, input H × W. */
function conv(
  [inChannels, outChannels, kernel, stride, padding, dilation]: number[],
  depthwise: boolean,
  [h, w]: number[],
): Case {
  return { inChannels, outChannels, kernel, stride, padding, dilation, depthwise, h, w };
}

const CASES: Case[] = [
  // dense, im2col (Cin < 16): stride 2 by phase, k 2 (a crop), k 1 stride 2, stride 1 dilated
  conv([3, 8, 3, 2, 1, 1], false, [10, 9]),
  conv([4, 6, 2, 2, 0, 1], false, [9, 9]),
  conv([3, 4, 1, 2, 0, 1], false, [7, 8]),
  conv([5, 4, 3, 1, 2, 2], false, [8, 7]),
  // dense, per tap (Cin ≥ 16): stride 1, stride 2, dilated, 1×1
  conv([16, 8, 3, 1, 1, 1], false, [7, 6]),
  conv([16, 8, 3, 2, 1, 1], false, [9, 8]),
  conv([16, 16, 3, 1, 3, 3], false, [8, 8]),
  conv([16, 12, 1, 1, 0, 1], false, [5, 6]),
  // depthwise: stride 1, stride 2 (phases, even and odd sizes), dilated
  conv([8, 8, 3, 1, 1, 1], true, [7, 7]),
  conv([8, 8, 3, 2, 1, 1], true, [10, 8]),
  conv([8, 8, 3, 2, 1, 1], true, [9, 11]),
  conv([8, 8, 3, 1, 2, 2], true, [9, 9]),
  // the NCHWc kernel's stride-1 dx at a block of 16 too (AVX-512): dense, depthwise, dilated
  conv([16, 32, 3, 1, 1, 1], false, [6, 7]),
  conv([16, 16, 3, 1, 1, 1], true, [7, 9]),
  conv([16, 16, 3, 1, 2, 2], true, [8, 8]),
];

/** NHWC → NCHW data. */
function toNchw(t: tf.Tensor4D): Float32Array {
  return tf.tidy(() => tf.transpose(t, [0, 3, 1, 2]).dataSync() as Float32Array);
}

Deno.test("buildTrainGraphs' conv gradients equal tfjs's for every lowering branch", async () => {
  await useBackend("cpu");
  const ort: typeof Ort = await import("onnxruntime-node");
  const block = await nchwcBlock(ort);
  if (block === 0) console.warn("no NCHWc kernel in this onnxruntime: its dx branch is not run");
  const rand = makeRng(11);
  // an even batch takes the dense filter gradient's products in halves, an odd one whole
  type Run = [batch: number, c: Case, block: number];
  const runs = [2, 3].flatMap((batch) => CASES.map((c): Run => [batch, c, 0]));
  if (block > 0) runs.push(...CASES.map((c): Run => [2, c, block]));
  for (const [B, c, nchwc] of runs) {
    const label = `B ${B} NCHWc block ${nchwc} ${JSON.stringify(c)}`;
    const { kernel: k, stride: s, padding: p, dilation: d, inChannels: cin, outChannels: cout } = c;
    const out = (n: number) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
    const [ho, wo] = [out(c.h), out(c.w)];
    const mult = c.depthwise ? 1 : cout;
    const x = tf.tensor4d(Float32Array.from({ length: B * c.h * c.w * cin }, () => rand() - 0.5), [
      B,
      c.h,
      c.w,
      cin,
    ]);
    const wHwio = tf.tensor4d(
      Float32Array.from({ length: k * k * cin * mult }, () => rand() - 0.5),
      [k, k, cin, mult],
    );
    const dy = tf.tensor4d(Float32Array.from({ length: B * ho * wo * cout }, () => rand() - 0.5), [
      B,
      ho,
      wo,
      cout,
    ]);
    const attrs = { strides: s, pad: p, dilations: d };
    const ref = c.depthwise
      ? depthwiseConv2dGradients(x, wHwio, dy, attrs)
      : conv2dGradients(x, wHwio, dy, attrs);
    // PyTorch layouts: OIHW, depthwise [C, 1, k, k]
    const wTorch = tf.tidy(() =>
      tf.transpose(wHwio, c.depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]).dataSync() as Float32Array
    );
    const node: ConvNode = { ...c, op: "conv", input: 0, weight: "w", bias: "bias" };
    const b = new OnnxGraphBuilder();
    for (const name of ["x", "w", "dy"]) b.fresh(name);
    const outputs: string[] = [];
    convBackward(b, node, "dy", "x", [1, c.h, c.w, cin], [1, ho, wo, cout], {
      weight: (name) => name,
      wanted: new Set(["w", "bias"]),
      gradOut: (name, value) =>
        outputs.push(b.node("Identity", [value], {}, { outputs: [`grad.${name}`] })),
      sumAxes: (t) =>
        b.node("ReduceSum", [t, b.int64("const.axes_023", [3], [0, 2, 3])], { keepdims: 0 }),
      addInput: (dx) => outputs.push(b.node("Identity", [dx], {}, { outputs: ["dx"] })),
      nchwcBlock: nchwc,
      batch: nchwc ? B : undefined,
    });
    const wShape = c.depthwise ? [cin, 1, k, k] : [cout, cin, k, k];
    const bytes = b.encode({
      name: "conv_grad",
      inputs: [
        floatValueInfo("x", [B, cin, c.h, c.w]),
        floatValueInfo("w", wShape),
        floatValueInfo("dy", [B, cout, ho, wo]),
      ],
      outputs: outputs.map((o) =>
        floatValueInfo(o, o === "dx" ? [B, cin, c.h, c.w] : o === "grad.w" ? wShape : [cout])
      ),
    });
    const session = await ort.InferenceSession.create(bytes);
    try {
      const r = await session.run({
        x: new ort.Tensor("float32", toNchw(x), [B, cin, c.h, c.w]),
        w: new ort.Tensor("float32", wTorch, wShape),
        dy: new ort.Tensor("float32", toNchw(dy), [B, cout, ho, wo]),
      });
      const dwTorch = tf.tidy(() =>
        tf.transpose(ref.dw, c.depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]).dataSync() as Float32Array
      );
      const db = tf.tidy(() => tf.sum(dy, [0, 1, 2]).dataSync() as Float32Array);
      for (
        const [name, got, want] of [
          ["dx", r.dx.data, toNchw(ref.dx)],
          ["dW", r["grad.w"].data, dwTorch],
          ["db", r["grad.bias"].data, db],
        ] as const
      ) {
        assert.equal(got.length, want.length, `${label} ${name}: size`);
        const { abs } = maxDiff(got as Float32Array, want);
        const scale = Math.max(...want.map(Math.abs));
        assert.ok(abs <= 1e-5 * Math.max(1, scale), `${label} ${name}: max |diff| ${abs}`);
      }
    } finally {
      await session.release();
      tf.dispose([x, wHwio, dy, ref.dx, ref.dw]);
    }
  }
});
