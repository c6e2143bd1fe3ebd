import assert from "node:assert/strict";
import type * as Ort from "onnxruntime-node";
import { nchwcBlock, nchwcConv, type NchwcConvSpec, nchwcFits } from "../lib/engine/onnx_nchwc.ts";
import { floatValueInfo, OnnxGraphBuilder } from "../lib/export/onnx_builder.ts";
import { makeRng } from "../lib/data/rng.ts";
import { maxDiff } from "./model_helpers.ts";

// onnxruntime's NCHWc conv, written into a graph with the weights rearranged in the graph
// (lib/engine/onnx_nchwc.ts), against ONNX's own Conv in the same onnxruntime: depthwise and
// dense, strides 1 and 2, dilation, bias, odd and non-square sizes.

const ort: typeof Ort = await import("onnxruntime-node");
const BLOCK = await nchwcBlock(ort);
const X86 = Deno.build.arch === "x86_64";
if (BLOCK === 0) {
  console.warn(
    `no NCHWc kernel in this onnxruntime on ${Deno.build.arch}: the conv cases are skipped`,
  );
}

const spec = (
  [cin, cout, kernel, stride, padding, dilation]: number[],
  depthwise = false,
): NchwcConvSpec => ({ cin, cout, kernel, stride, padding, dilation, depthwise });

Deno.test("nchwcBlock() finds the SIMD block of an x86-64 CPU (8 with AVX2, 16 with AVX-512)", () => {
  console.log(`NCHWc block on this machine: ${BLOCK}`);
  if (X86) assert.ok([8, 16].includes(BLOCK), `block ${BLOCK}`);
  else assert.ok([0, 8, 16].includes(BLOCK), `block ${BLOCK}`);
});

Deno.test("nchwcFits() takes convs larger than 1×1 whose channels fill whole blocks", () => {
  assert.equal(nchwcFits(spec([16, 32, 3, 1, 1, 1]), 16), true);
  assert.equal(nchwcFits(spec([32, 32, 3, 2, 1, 1], true), 16), true);
  assert.equal(nchwcFits(spec([8, 16, 3, 1, 1, 1]), 16), false); // 8 input channels: half a block
  assert.equal(nchwcFits(spec([8, 16, 3, 1, 1, 1]), 8), true);
  assert.equal(nchwcFits(spec([3, 16, 3, 2, 1, 1]), 8), false); // the image's 3 channels
  assert.equal(nchwcFits(spec([16, 16, 1, 1, 0, 1]), 8), false); // 1×1: a matrix product already
  assert.equal(nchwcFits(spec([16, 32, 3, 1, 1, 1]), 0), false); // no kernel here
});

const CASES: [string, NchwcConvSpec, [number, number]][] = [
  ["depthwise 3×3", spec([16, 16, 3, 1, 1, 1], true), [9, 13]],
  ["depthwise 3×3 stride 2", spec([32, 32, 3, 2, 1, 1], true), [15, 10]],
  ["depthwise 3×3 dilation 2", spec([16, 16, 3, 1, 2, 2], true), [8, 11]],
  ["dense 3×3", spec([16, 32, 3, 1, 1, 1]), [7, 9]],
  ["dense 3×3 stride 2", spec([32, 16, 3, 2, 1, 1]), [11, 8]],
  ["dense 5×5 padding 0", spec([16, 16, 5, 1, 0, 1]), [9, 9]],
  ["dense 3×3 dilation 3", spec([16, 16, 3, 1, 3, 3]), [10, 9]],
  ["dense 3×5", { ...spec([16, 16, 1, 1, 1, 1]), kernel: [3, 5] }, [8, 9]],
  // as the depthwise filter gradient uses it: a large kernel dilated by the stride, strided
  ["depthwise 6×5 dilation 2 stride 2", { ...spec([16, 16, 1, 2, 1, 2], true), kernel: [6, 5] }, [
    14,
    12,
  ]],
];

for (const [name, s, [h, w]] of CASES) {
  for (const bias of [false, true]) {
    Deno.test({
      name: `nchwcConv() equals ONNX Conv: ${name}${bias ? ", with bias" : ""}`,
      ignore: BLOCK === 0 || !nchwcFits(s, BLOCK),
    }, async () => {
      const batch = 3;
      const rand = makeRng(5);
      const groups = s.depthwise ? s.cin : 1;
      const [kh, kw] = typeof s.kernel === "number" ? [s.kernel, s.kernel] : s.kernel;
      const wShape = [s.cout, s.cin / groups, kh, kw];
      const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
      const values = (dims: number[]) =>
        Float32Array.from({ length: size(dims) }, () => rand() - 0.5);
      const xShape = [batch, s.cin, h, w];
      const feeds: Record<string, Ort.Tensor> = {
        x: new ort.Tensor("float32", values(xShape), xShape),
        w: new ort.Tensor("float32", values(wShape), wShape),
        b: new ort.Tensor("float32", values([s.cout]), [s.cout]),
      };
      const run = async (nchwc: boolean) => {
        const b = new OnnxGraphBuilder();
        for (const n of ["x", "w", "b"]) b.fresh(n);
        const p = s.padding;
        const y = nchwc
          ? nchwcConv(b, "x", "w", bias ? "b" : undefined, s, BLOCK)
          : b.node("Conv", bias ? ["x", "w", "b"] : ["x", "w"], {
            kernel_shape: [kh, kw],
            strides: [s.stride, s.stride],
            pads: [p, p, p, p],
            dilations: [s.dilation, s.dilation],
            group: groups,
          });
        const out = b.node("Identity", [y], {}, { outputs: ["y"] });
        const model = b.encode({
          name: "conv",
          inputs: [
            floatValueInfo("x", xShape),
            floatValueInfo("w", wShape),
            ...(bias ? [floatValueInfo("b", [s.cout])] : []),
          ],
          outputs: [floatValueInfo(out, [batch, s.cout, "H", "W"])],
        });
        const session = await ort.InferenceSession.create(model);
        try {
          const r = await session.run(bias ? feeds : { x: feeds.x, w: feeds.w });
          return r.y;
        } finally {
          await session.release();
        }
      };
      const [want, got] = [await run(false), await run(true)];
      assert.deepEqual(got.dims, want.dims);
      const d = maxDiff(got.data as Float32Array, want.data as Float32Array);
      assert.ok(d.scaled <= 1e-5, `${name}: ${JSON.stringify(d)}`);
    });
  }
}
