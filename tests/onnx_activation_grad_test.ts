import assert from "node:assert/strict";
import type * as Ort from "onnxruntime-node";
import { activationBackward } from "../lib/engine/onnx_train_graph.ts";
import { floatValueInfo, OnnxGraphBuilder } from "../lib/export/onnx_builder.ts";
import { makeRng } from "../lib/data/rng.ts";

// The step graph's ReLU and ReLU6 input gradients (onnxruntime, one and two threads) against
// PyTorch's rule written out here: dx = g where 0 < x (< 6 for ReLU6), else 0, taken from the
// output y. The edge values are the ones a cheap mask gets wrong: 0, denormal outputs (2⁻¹⁴⁹,
// 1e-39), the smallest normal, float32's largest, 6 and the float below it; then 200,000 random
// inputs, enough for onnxruntime to split the work across threads.
const f32 = (v: number) => Math.fround(v);
const EDGES = [
  -3,
  -1e-39,
  0,
  2 ** -149,
  1e-39,
  2 ** -126,
  1e-30,
  0.5,
  1,
  3,
  f32(6 - 2 ** -21),
  6,
  6.5,
  1e30,
  3.4e38,
];

function inputs(): Float32Array {
  const rand = makeRng(5);
  const x = new Float32Array(200_000).map(() => (rand() - 0.3) * 10);
  x.set(EDGES);
  return x;
}

Deno.test("activationBackward() masks ReLU and ReLU6 gradients exactly, edge values included", async () => {
  const ort: typeof Ort = await import("onnxruntime-node");
  const x = inputs();
  const n = x.length;
  const rand = makeRng(6);
  const g = new Float32Array(n).map(() => rand() * 2 - 1);
  for (const op of ["relu", "relu6"] as const) {
    const y = x.map((v) => Math.min(Math.max(v, 0), op === "relu" ? Infinity : 6));
    const want = g.map((v, i) => (x[i] > 0 && (op === "relu" || x[i] < 6) ? v : 0));
    const b = new OnnxGraphBuilder();
    b.fresh("g");
    b.fresh("y");
    const dx = b.node("Identity", [activationBackward(b, op, "g", "y")], {}, { outputs: ["dx"] });
    const model = b.encode({
      name: op,
      inputs: [floatValueInfo("g", [n]), floatValueInfo("y", [n])],
      outputs: [floatValueInfo(dx, [n])],
    });
    for (const threads of [1, 2]) {
      const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads });
      try {
        const out = await session.run({
          g: new ort.Tensor("float32", g, [n]),
          y: new ort.Tensor("float32", y, [n]),
        });
        const got = out.dx.data as Float32Array;
        const bad = got.findIndex((v, i) => v !== want[i]); // −0 from g·0 counts as 0
        assert.equal(
          bad,
          -1,
          `${op} ×${threads}: x = ${x[bad]}, y = ${y[bad]}: dx ${got[bad]}, want ${want[bad]}`,
        );
      } finally {
        await session.release();
      }
    }
  }
});
