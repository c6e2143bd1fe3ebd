import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import type { StateDict } from "../lib/io/state_dict.ts";
import type { GraphNode, NetworkGraph } from "../lib/model/graph_ir.ts";
import { makeRng, uniform } from "../lib/data/rng.ts";
import { buildTfjsGraphModel, exportTfjsGraphModel } from "../lib/export/tfjs_graph.ts";
import { loadTfjsGraphModel } from "../lib/export/tfjs_graph_load.ts";
import { maxDiff, useBackend } from "./model_helpers.ts";
import { livelyWeights } from "./export_helpers.ts";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
import { loadModel } from "../lib/model/load.ts";
import { describeNetwork } from "../lib/model/network.ts";

// A hand-written network with every node kind of the IR, on a non-square input (20×24) so that
// H and W cannot be swapped unnoticed: conv (bias, stride 2), BatchNorm, ReLU6, depthwise conv,
// hard-swish, ceil-mode max pool with padding, dilated conv, ReLU, global average pool, 1×1
// conv, hard-sigmoid, broadcast mul (squeeze-excite), add, concat, L2Norm, a ceil-mode pool
// that needs an extra row and column, and two-level SSD heads flattened.
const A = [2, 3]; // anchors per cell of the two source maps
const C = 3; // classes with background
const HW: [number, number] = [20, 24];
const conv = (
  input: number,
  name: string,
  io: [number, number],
  k: number,
  o: { stride?: number; padding?: number; dilation?: number; bias?: boolean; dw?: boolean } = {},
): GraphNode => ({
  op: "conv",
  input,
  weight: `${name}.weight`,
  ...(o.bias ? { bias: `${name}.bias` } : {}),
  inChannels: io[0],
  outChannels: io[1],
  kernel: k,
  stride: o.stride ?? 1,
  padding: o.padding ?? 0,
  dilation: o.dilation ?? 1,
  depthwise: o.dw ?? false,
});
const bn = (input: number, prefix: string, channels: number): GraphNode => ({
  op: "batchNorm",
  input,
  prefix,
  channels,
  eps: 1e-3,
  momentum: 0.1,
});
const NODES: GraphNode[] = [
  { op: "input" }, // 0: [20, 24, 3]
  conv(0, "stem", [3, 8], 3, { stride: 2, padding: 1, bias: true }), // 1: [10, 12, 8]
  bn(1, "stem_bn", 8), // 2
  { op: "relu6", input: 2 }, // 3
  conv(3, "dw", [8, 8], 3, { padding: 1, dw: true }), // 4
  bn(4, "dw_bn", 8), // 5
  { op: "hardSwish", input: 5 }, // 6
  { op: "maxPool", input: 6, kernel: 3, stride: 2, padding: 1, ceil: true }, // 7: [6, 7, 8]
  conv(7, "dil", [8, 16], 3, { padding: 2, dilation: 2, bias: true }), // 8: [6, 7, 16]
  { op: "relu", input: 8 }, // 9
  { op: "globalAvgPool", input: 9 }, // 10: [1, 1, 16]
  conv(10, "se", [16, 16], 1, { bias: true }), // 11
  { op: "hardSigmoid", input: 11 }, // 12
  { op: "mul", inputs: [9, 12] }, // 13
  { op: "add", inputs: [13, 9] }, // 14
  { op: "concat", inputs: [14, 9] }, // 15: [6, 7, 32]
  { op: "l2Norm", input: 15, weight: "l2.weight", channels: 32 }, // 16 → source 0
  { op: "maxPool", input: 16, kernel: 2, stride: 2, padding: 0, ceil: true }, // 17: [3, 4, 32] → source 1
  conv(16, "loc0", [32, A[0] * 4], 3, { padding: 1, bias: true }), // 18
  conv(17, "loc1", [32, A[1] * 4], 3, { padding: 1, bias: true }), // 19
  conv(16, "cls0", [32, A[0] * C], 3, { padding: 1, bias: true }), // 20
  conv(17, "cls1", [32, A[1] * C], 1, { bias: true }), // 21
  { op: "flattenHead", inputs: [18, 19], columns: 4 }, // 22: [6·7·2 + 3·4·3 = 120, 4]
  { op: "flattenHead", inputs: [20, 21], columns: C }, // 23
];
const P = 6 * 7 * 2 + 3 * 4 * 3;
const GRAPH: NetworkGraph = {
  arch: "hand",
  imageSize: HW,
  nodes: NODES,
  params: [],
  counters: [],
  sources: [16, 17],
  locPred: 22,
  clsLogits: 23,
};

/** Random weights for every parameter the nodes name (BatchNorm variances positive). */
function handStateDict(seed: number): StateDict {
  const rng = makeRng(seed);
  const sd: StateDict = new Map();
  const put = (name: string, shape: number[], lo: number, hi: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    sd.set(name, {
      dtype: "float32",
      shape,
      data: Float32Array.from({ length: n }, () => uniform(rng, lo, hi)),
    });
  };
  for (const node of NODES) {
    if (node.op === "conv") {
      const k = node.kernel;
      const fanIn = (node.depthwise ? 1 : node.inChannels) * k * k;
      const a = Math.sqrt(6 / fanIn);
      put(node.weight, [node.outChannels, node.depthwise ? 1 : node.inChannels, k, k], -a, a);
      if (node.bias) put(node.bias, [node.outChannels], -0.3, 0.3);
    } else if (node.op === "batchNorm") {
      put(`${node.prefix}.weight`, [node.channels], 0.5, 1.5);
      put(`${node.prefix}.bias`, [node.channels], -0.3, 0.3);
      put(`${node.prefix}.running_mean`, [node.channels], -0.5, 0.5);
      put(`${node.prefix}.running_var`, [node.channels], 0.5, 2);
    } else if (node.op === "l2Norm") {
      put(node.weight, [node.channels], 10, 30);
    }
  }
  return sd;
}

/** A feature map in plain arrays: NHWC values of one image. */
interface Map3 {
  h: number;
  w: number;
  c: number;
  v: Float64Array;
}

/** PyTorch's output size of a conv / pool (the docs' formula, ceil mode's last-window rule). */
function torchOut(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = (size + 2 * p - d * (k - 1) - 1) / s;
  let out = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/** The graph run naively in float64 loops, from the definitions (independent of tfjs). */
function referenceForward(image: Float64Array, sd: StateDict): { loc: number[]; logits: number[] } {
  const get = (name: string) => Float64Array.from(sd.get(name)!.data as Float32Array);
  const vals: (Map3 | number[])[] = [];
  const map = (r: number) => vals[r] as Map3;
  const make = (h: number, w: number, c: number): Map3 => ({
    h,
    w,
    c,
    v: new Float64Array(h * w * c),
  });
  const at = (m: Map3, y: number, x: number, ch: number) => m.v[(y * m.w + x) * m.c + ch];
  const each = (m: Map3, f: (v: number, ch: number) => number): Map3 => {
    const out = make(m.h, m.w, m.c);
    m.v.forEach((v, i) => (out.v[i] = f(v, i % m.c)));
    return out;
  };
  const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);
  for (const node of NODES) {
    switch (node.op) {
      case "input":
        vals.push({ h: HW[0], w: HW[1], c: 3, v: image });
        break;
      case "conv": {
        const x = map(node.input);
        const { kernel: k, stride: s, padding: p, dilation: d } = node;
        const out = make(
          torchOut(x.h, k, s, p, d, false),
          torchOut(x.w, k, s, p, d, false),
          node.outChannels,
        );
        const wt = get(node.weight);
        const bias = node.bias ? get(node.bias) : undefined;
        const cin = node.depthwise ? 1 : node.inChannels;
        for (let oy = 0; oy < out.h; oy++) {
          for (let ox = 0; ox < out.w; ox++) {
            for (let o = 0; o < out.c; o++) {
              let acc = bias ? bias[o] : 0;
              for (let i = 0; i < cin; i++) {
                for (let ky = 0; ky < k; ky++) {
                  for (let kx = 0; kx < k; kx++) {
                    const y = oy * s - p + ky * d;
                    const xx = ox * s - p + kx * d;
                    if (y < 0 || y >= x.h || xx < 0 || xx >= x.w) continue;
                    const ch = node.depthwise ? o : i;
                    acc += wt[((o * cin + i) * k + ky) * k + kx] * at(x, y, xx, ch);
                  }
                }
              }
              out.v[(oy * out.w + ox) * out.c + o] = acc;
            }
          }
        }
        vals.push(out);
        break;
      }
      case "batchNorm": {
        const [w, b, m, v] = ["weight", "bias", "running_mean", "running_var"].map((k) =>
          get(`${node.prefix}.${k}`)
        );
        vals.push(
          each(map(node.input), (x, c) => (x - m[c]) / Math.sqrt(v[c] + node.eps) * w[c] + b[c]),
        );
        break;
      }
      case "relu":
        vals.push(each(map(node.input), (x) => Math.max(x, 0)));
        break;
      case "relu6":
        vals.push(each(map(node.input), relu6));
        break;
      case "hardSigmoid":
        vals.push(each(map(node.input), (x) => relu6(x + 3) / 6));
        break;
      case "hardSwish":
        vals.push(each(map(node.input), (x) => x * relu6(x + 3) / 6));
        break;
      case "maxPool": {
        const x = map(node.input);
        const { kernel: k, stride: s, padding: p, ceil } = node;
        const out = make(torchOut(x.h, k, s, p, 1, ceil), torchOut(x.w, k, s, p, 1, ceil), x.c);
        for (let oy = 0; oy < out.h; oy++) {
          for (let ox = 0; ox < out.w; ox++) {
            for (let c = 0; c < x.c; c++) {
              let best = -Infinity;
              for (let y = oy * s - p; y < oy * s - p + k; y++) {
                for (let xx = ox * s - p; xx < ox * s - p + k; xx++) {
                  if (y >= 0 && y < x.h && xx >= 0 && xx < x.w) {
                    best = Math.max(best, at(x, y, xx, c));
                  }
                }
              }
              out.v[(oy * out.w + ox) * out.c + c] = best;
            }
          }
        }
        vals.push(out);
        break;
      }
      case "globalAvgPool": {
        const x = map(node.input);
        const out = make(1, 1, x.c);
        x.v.forEach((v, i) => (out.v[i % x.c] += v / (x.h * x.w)));
        vals.push(out);
        break;
      }
      case "add":
      case "mul": {
        const [a, b] = node.inputs.map(map);
        const out = make(a.h, a.w, a.c);
        for (let y = 0; y < a.h; y++) {
          for (let x = 0; x < a.w; x++) {
            for (let c = 0; c < a.c; c++) {
              const bv = b.h === 1 ? at(b, 0, 0, c) : at(b, y, x, c);
              const av = at(a, y, x, c);
              out.v[(y * a.w + x) * a.c + c] = node.op === "add" ? av + bv : av * bv;
            }
          }
        }
        vals.push(out);
        break;
      }
      case "concat": {
        const xs = node.inputs.map(map);
        const out = make(xs[0].h, xs[0].w, xs.reduce((n, x) => n + x.c, 0));
        for (let y = 0; y < out.h; y++) {
          for (let x = 0; x < out.w; x++) {
            let c0 = 0;
            for (const m of xs) {
              for (let c = 0; c < m.c; c++) {
                out.v[(y * out.w + x) * out.c + c0 + c] = at(m, y, x, c);
              }
              c0 += m.c;
            }
          }
        }
        vals.push(out);
        break;
      }
      case "l2Norm": {
        const x = map(node.input);
        const w = get(node.weight);
        const out = make(x.h, x.w, x.c);
        for (let i = 0; i < x.h * x.w; i++) {
          let ss = 0;
          for (let c = 0; c < x.c; c++) ss += x.v[i * x.c + c] ** 2;
          const norm = Math.max(Math.sqrt(ss), 1e-12); // F.normalize(eps=1e-12)
          for (let c = 0; c < x.c; c++) out.v[i * x.c + c] = x.v[i * x.c + c] / norm * w[c];
        }
        vals.push(out);
        break;
      }
      case "flattenHead":
        // NHWC row-major [H, W, A·K] is already (row, column, anchor, k) order
        vals.push(node.inputs.flatMap((r) => [...map(r).v]));
        break;
    }
  }
  return { loc: vals[22] as number[], logits: vals[23] as number[] };
}

/** Runs an exported folder with tfjs-converter; returns loc and logits. */
async function runExported(dir: string, input: Float32Array, batch: number, hw: [number, number]) {
  const model = await loadTfjsGraphModel(dir);
  try {
    const x = tf.tensor4d(input, [batch, hw[0], hw[1], 3]);
    const [loc, logits] = model.execute(x, ["loc", "logits"]) as tf.Tensor[];
    const out = {
      loc: { shape: loc.shape, data: await loc.data() },
      logits: { shape: logits.shape, data: await logits.data() },
    };
    tf.dispose([x, loc, logits]);
    return out;
  } finally {
    model.dispose();
  }
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`exportTfjsGraphModel() of a graph with every node kind runs as the naive reference (${backend})`, async () => {
    await useBackend(backend);
    const sd = handStateDict(3);
    const batch = 2;
    const rng = makeRng(5);
    const input = Float32Array.from(
      { length: batch * HW[0] * HW[1] * 3 },
      () => uniform(rng, -1, 1),
    );
    const dir = await Deno.makeTempDir();
    try {
      const { files } = await exportTfjsGraphModel(GRAPH, sd, getConfig("tiny"), dir, {
        shardBytes: 4096,
      });
      assert.ok(files.length > 2, `several shards: ${files.join(", ")}`);
      const before = tf.memory().numTensors;
      const got = await runExported(dir, input, batch, HW);
      assert.equal(tf.memory().numTensors, before, "no tensor left behind");
      assert.deepEqual(got.loc.shape, [batch, P, 4]);
      assert.deepEqual(got.logits.shape, [batch, P, C]);
      const per = HW[0] * HW[1] * 3;
      for (let b = 0; b < batch; b++) {
        const ref = referenceForward(Float64Array.from(input.subarray(b * per, (b + 1) * per)), sd);
        const loc = maxDiff(got.loc.data.subarray(b * P * 4, (b + 1) * P * 4), ref.loc);
        const logits = maxDiff(got.logits.data.subarray(b * P * C, (b + 1) * P * C), ref.logits);
        assert.ok(loc.rel <= 1e-4, `loc image ${b}: ${JSON.stringify(loc)}`);
        assert.ok(logits.rel <= 1e-4, `logits image ${b}: ${JSON.stringify(logits)}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("buildTfjsGraphModel() writes a graph-model JSON with HWIO weights under PyTorch names", () => {
  const sd = handStateDict(3);
  const { modelJson, weightData } = buildTfjsGraphModel(GRAPH, sd, getConfig("tiny"));
  assert.equal(modelJson.format, "graph-model");
  const specs = modelJson.weightsManifest[0].weights;
  const stem = specs.find((w) => w.name === "stem.weight")!;
  assert.deepEqual(stem.shape, [3, 3, 3, 8]); // OIHW [8, 3, 3, 3] → HWIO
  assert.deepEqual(specs.find((w) => w.name === "dw.weight")!.shape, [3, 3, 8, 1]);
  // HWIO[ky=1, kx=2, i=0, o=5] is OIHW[o=5, i=0, ky=1, kx=2]
  let offset = 0;
  for (const w of specs) {
    if (w.name === "stem.weight") break;
    offset += w.shape.reduce((a, b) => a * b, 1) * 4;
  }
  const hwio = new Float32Array(weightData.slice(offset, offset + 3 * 3 * 3 * 8 * 4).buffer);
  const oihw = sd.get("stem.weight")!.data as Float32Array;
  assert.equal(hwio[((1 * 3 + 2) * 3 + 0) * 8 + 5], oihw[((5 * 3 + 0) * 3 + 1) * 3 + 2]);
  const ops = new Set(modelJson.modelTopology.node.map((n) => n.op));
  for (
    const op of [
      "Conv2D",
      "DepthwiseConv2dNative",
      "FusedBatchNormV3",
      "Relu6",
      "MaxPool",
      "PadV2",
      "Mean",
      "ConcatV2",
      "Reshape",
      "Rsqrt",
    ]
  ) {
    assert.ok(ops.has(op), `uses ${op}`);
  }
  assert.deepEqual(modelJson.userDefinedMetadata.structuredOutputKeys, ["loc", "logits"]);
});

Deno.test("buildTfjsGraphModel() names a missing or mis-shaped weight", () => {
  const sd = handStateDict(3);
  sd.delete("dw_bn.running_var");
  assert.throws(
    () => buildTfjsGraphModel(GRAPH, sd, getConfig("tiny")),
    /the state dict has no "dw_bn\.running_var"/,
  );
  const bad = handStateDict(3);
  bad.set("stem.weight", { dtype: "float32", shape: [8, 3, 3, 2], data: new Float32Array(144) });
  assert.throws(
    () => buildTfjsGraphModel(GRAPH, bad, getConfig("tiny")),
    /"stem\.weight" must have shape \[8,3,3,3\], got \[8,3,3,2\]/,
  );
});

// The real networks: model.graph exported with model.stateDict(), run by tfjs-converter, against
// model.predict on the same backend. Random weights are made lively (see livelyWeights) so that
// outputs are O(1); face-slim-320 keeps its shipped weights. Tolerance: max |graph − predict| ≤
// 1e-4 · max(1, max |predict|).
const MODELS: { name: string; make: () => Promise<SsdModel> }[] = [
  { name: "tiny", make: () => Promise.resolve(buildModel(getConfig("tiny"), { seed: 1 })) },
  { name: "face-slim-320", make: () => loadModel("face-slim-320") },
  {
    name: "face-rfb-320",
    make: () => Promise.resolve(buildModel(getConfig("face-rfb-320"), { seed: 1 })),
  },
  {
    name: "ssdlite320",
    make: () => Promise.resolve(buildModel(getConfig("ssdlite320"), { seed: 1 })),
  },
  { name: "ssd300", make: () => Promise.resolve(buildModel(getConfig("ssd300"), { seed: 1 })) },
];

for (const m of MODELS) {
  Deno.test(`exportTfjsGraphModel(${m.name}) loads in tfjs-converter and predicts as model.predict`, async () => {
    await useBackend("wasm");
    const model = await m.make();
    const dir = await Deno.makeTempDir();
    try {
      if (m.name !== "face-slim-320") model.loadStateDict(livelyWeights(model.stateDict(), 11));
      assert.deepEqual(
        model.graph,
        describeNetwork(model.config),
        "model.graph is the config's graph",
      );
      const [h, w] = model.config.imageSize;
      const rng = makeRng(9);
      const input = Float32Array.from({ length: h * w * 3 }, () => uniform(rng, -1, 1));
      const x = tf.tensor4d(input, [1, h, w, 3]);
      const { locPred, clsLogits } = model.predict(x);
      const want = { loc: await locPred.data(), logits: await clsLogits.data() };
      tf.dispose([x, locPred, clsLogits]);
      await exportTfjsGraphModel(model.graph, model.stateDict(), model.config, dir);
      const got = await runExported(dir, input, 1, [h, w]);
      assert.deepEqual(got.loc.shape, locPred.shape);
      assert.deepEqual(got.logits.shape, clsLogits.shape);
      const peak = (a: ArrayLike<number>) => {
        let p = 0;
        for (let k = 0; k < a.length; k++) p = Math.max(p, Math.abs(a[k]));
        return p;
      };
      for (const key of ["loc", "logits"] as const) {
        const d = maxDiff(got[key].data, want[key]);
        const tol = 1e-4 * Math.max(1, peak(want[key]));
        console.log(
          `${m.name} ${key}: max |predict| ${peak(want[key]).toPrecision(3)}, diff ${
            JSON.stringify(d)
          }`,
        );
        assert.ok(d.abs <= tol, `${m.name} ${key}: ${JSON.stringify(d)} > ${tol}`);
      }
    } finally {
      model.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
