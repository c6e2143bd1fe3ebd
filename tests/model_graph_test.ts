import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { getConfig, type ModelConfig } from "../lib/config.ts";
import { generatePriors } from "../lib/priors.ts";
import type { NetworkGraph } from "../lib/model/graph_ir.ts";
import { GraphBuilder } from "../lib/model/graph.ts";
import { graphShapes } from "../lib/model/graph_shapes.ts";
import { maxPool } from "../lib/model/layers.ts";
import { describeNetwork } from "../lib/model/network.ts";
import { createParamStore, runGraph } from "../lib/model/run_graph.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { useBackend } from "./model_helpers.ts";

const CONFIGS = [
  "ssd300",
  "ssd512",
  "ssd300-coco",
  "ssdlite320",
  "tiny",
  "face-slim-320",
  "face-rfb-320",
];

/** Nodes by op, counted from the architectures' definitions by hand. */
const OPS: Record<string, Record<string, number>> = {
  // VGG16: 13 convs to conv5_3 + fc6 + fc7, 4 extra blocks of 2 convs (23 with a ReLU each);
  // heads: 6 maps × (cls, reg). Pools 1, 2, 3 (ceil), 4, 5 (3×3 stride 1).
  ssd300: { input: 1, conv: 23 + 12, relu: 23, maxPool: 5, l2Norm: 1, flattenHead: 2 },
  // SSD512: one more extra block and one more head level.
  ssd512: { input: 1, conv: 25 + 14, relu: 25, maxPool: 5, l2Norm: 1, flattenHead: 2 },
  // MobileNetV3-Large (reduced tail): stem, 15 bnecks (expand unless the first, depthwise,
  // project; SE in 8 of them: 2 convs each), the last 1×1; 4 extras × 3; heads 6 × 2 × 2.
  // Residuals in the 10 stride-1 blocks with in = out.
  ssdlite320: {
    input: 1,
    conv: 1 + (14 * 3 + 2) + 8 * 2 + 1 + 12 + 24,
    batchNorm: 1 + 44 + 1 + 12 + 12,
    hardSwish: 1 + 2 * 9 + 1,
    relu: 2 * 5 + 1 + 8, // RE bnecks 1–6 (the first has no expand), SE fc1 ReLUs
    relu6: 12 + 12,
    hardSigmoid: 8,
    globalAvgPool: 8,
    mul: 8,
    add: 10,
    flattenHead: 2,
  },
  // 13 conv + BN + ReLU layers, 5 maps × (cls, reg) 3×3 convs.
  tiny: { input: 1, conv: 13 + 10, batchNorm: 13, relu: 13, flattenHead: 2 },
  // conv_bn + 12 conv_dw (2 convs each); extras 1×1 + separable (2); heads 3 separable + 1 conv,
  // twice. ReLU after every backbone conv, 3 in extras, 1 per separable head.
  "face-slim-320": { input: 1, conv: 25 + 3 + 14, batchNorm: 25, relu: 25 + 3 + 6, flattenHead: 2 },
  // base_net.7 (2 convs) becomes BasicRFB: 10 branch convs + ConvLinear + shortcut, 4 branch
  // ReLUs + the final one, a concat and an add.
  "face-rfb-320": {
    input: 1,
    conv: 42 - 2 + 12,
    batchNorm: 25 - 2 + 12,
    relu: 34 - 2 + 5,
    concat: 1,
    add: 1,
    flattenHead: 2,
  },
};

/** Channels of the source maps: torchvision 0.14 / UltraFace ARCHITECTURE.md / tiny.ts docs. */
const SOURCE_CHANNELS: Record<string, number[]> = {
  ssd300: [512, 1024, 512, 256, 256, 256],
  ssd512: [512, 1024, 512, 256, 256, 256, 256],
  "ssd300-coco": [512, 1024, 512, 256, 256, 256],
  ssdlite320: [672, 480, 512, 256, 256, 128],
  tiny: [64, 128, 128, 128, 128],
  "face-slim-320": [64, 128, 256, 256],
  "face-rfb-320": [64, 128, 256, 256],
};

/** `[name, torchShape]` of every parameter a node reads. */
function usedParams(graph: NetworkGraph): [string, number[]][] {
  const used: [string, number[]][] = [];
  for (const n of graph.nodes) {
    if (n.op === "conv") {
      used.push([n.weight, [n.outChannels, n.depthwise ? 1 : n.inChannels, n.kernel, n.kernel]]);
      if (n.bias) used.push([n.bias, [n.outChannels]]);
    } else if (n.op === "batchNorm") {
      for (const s of ["weight", "bias", "running_mean", "running_var"]) {
        used.push([`${n.prefix}.${s}`, [n.channels]]);
      }
    } else if (n.op === "l2Norm") {
      used.push([n.weight, [n.channels]]);
    }
  }
  return used;
}

/** The state-dict entries of a graph in `stateDict()` order: counters after `running_var`. */
function stateDictEntries(graph: NetworkGraph): [string, number[], string][] {
  const counters = new Set(graph.counters);
  return graph.params.flatMap((p): [string, number[], string][] => {
    const counter = p.name.replace(/running_var$/, "num_batches_tracked");
    return counter !== p.name && counters.has(counter)
      ? [[p.name, p.torchShape, "float32"], [counter, [], "int64"]]
      : [[p.name, p.torchShape, "float32"]];
  });
}

for (const name of CONFIGS) {
  Deno.test(`describeNetwork("${name}") has the hand-counted nodes, each parameter once and used`, () => {
    const graph = describeNetwork(getConfig(name));
    const ops: Record<string, number> = {};
    for (const n of graph.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
    assert.deepEqual(ops, OPS[name] ?? OPS[name.replace("-coco", "")]);
    assert.deepEqual(graph.nodes[0], { op: "input" });
    const declared = new Map(graph.params.map((p) => [p.name, p.torchShape]));
    assert.equal(declared.size, graph.params.length, "a parameter is declared twice");
    const used = usedParams(graph);
    for (const [param, shape] of used) assert.deepEqual(declared.get(param), shape, param);
    assert.deepEqual(new Set(used.map(([p]) => p)), new Set(declared.keys()));
    const bnPrefixes = graph.nodes.flatMap((n) => n.op === "batchNorm" ? [n.prefix] : []);
    // counters come in creation order, nodes in run order (the heads run regression first)
    assert.deepEqual(
      new Set(graph.counters),
      new Set(bnPrefixes.map((p) => `${p}.num_batches_tracked`)),
    );
    assert.equal(graph.counters.length, bnPrefixes.length);
    const frozen = graph.params.filter((p) => !p.trainable).map((p) => p.name);
    assert.ok(frozen.every((p) => /\.running_(mean|var)$/.test(p)), frozen.join());
    assert.equal(frozen.length, 2 * bnPrefixes.length);
  });

  Deno.test(`graphShapes() of ${name} gives the priors' source maps and prior count`, () => {
    const cfg = getConfig(name);
    const graph = describeNetwork(cfg);
    const shapes = graphShapes(graph, 2);
    assert.deepEqual(
      graph.sources.map((r) => shapes[r]),
      cfg.priors.layers.map((l, i) => [2, ...l.featureSize, SOURCE_CHANNELS[name][i]]),
    );
    const p = generatePriors(cfg).length / 4;
    assert.deepEqual(shapes[graph.locPred], [2, p, 4]);
    assert.deepEqual(shapes[graph.clsLogits], [2, p, cfg.classes.length + 1]);
  });
}

interface TorchvisionShapes {
  [model: string]: { num_params: number; state_dict: [string, number[], string][] };
}
const TORCHVISION: TorchvisionShapes = JSON.parse(
  await Deno.readTextFile(
    new URL("../fixtures/models/torchvision_state_dicts.json", import.meta.url),
  ),
);

for (const [file, name] of [["ssdlite320", "ssdlite320"], ["ssd300_vgg16", "ssd300-coco"]]) {
  Deno.test(`describeNetwork("${name}") declares torchvision's state dict in its order`, () => {
    const graph = describeNetwork(getConfig(name));
    assert.deepEqual(stateDictEntries(graph), TORCHVISION[file].state_dict);
  });
}

// Fingerprints of `buildModel(getConfig(name), { seed: 1 }).stateDict()` on the cpu backend,
// recorded with the closure-based builders (commit 9f6bddd, before the layer graph) by a
// script doing what `fingerprint()` below does: `keys` over the lines `name:shape:dtype`,
// `values` over the little-endian float32 bytes of every float32 entry, in state-dict order.
// The graph must create the same parameters in the same order, so a seed gives the same
// weights as before.
const BEFORE: Record<string, { keys: number; values: number }> = {
  tiny: { keys: 479800334, values: 2793627870 },
  "face-slim-320": { keys: 1818387770, values: 4002406198 },
  "face-rfb-320": { keys: 1327610626, values: 1278624963 },
  ssdlite320: { keys: 1509508626, values: 3894607776 },
  ssd300: { keys: 4009534265, values: 4232799660 },
};

/** 32-bit FNV-1a, continued from `h`. */
function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

function fingerprint(cfg: ModelConfig): { keys: number; values: number } {
  const model = buildModel(cfg, { seed: 1 });
  try {
    const lines: string[] = [];
    let values = 0x811c9dc5;
    for (const [k, t] of model.stateDict()) {
      lines.push(`${k}:${t.shape.join("x")}:${t.dtype}`);
      if (t.dtype !== "float32") continue;
      const d = t.data as Float32Array;
      values = fnv1a(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), values);
    }
    return { keys: fnv1a(new TextEncoder().encode(lines.join("\n"))), values };
  } finally {
    model.dispose();
  }
}

for (const [name, before] of Object.entries(BEFORE)) {
  Deno.test(`buildModel("${name}", { seed: 1 }) gives the weights of the closure builders`, async () => {
    await useBackend("cpu");
    assert.deepEqual(fingerprint(getConfig(name)), before);
  });
}

for (const name of ["tiny", "face-rfb-320"]) {
  Deno.test(`runGraph() on ${name} gives graphShapes()'s shapes and keeps no tensor`, async () => {
    await useBackend("cpu");
    const cfg = getConfig(name);
    const graph = describeNetwork(cfg);
    const store = createParamStore(graph, { seed: 2 });
    const x = tf.randomUniform([2, ...cfg.imageSize, 3], -1, 1, "float32", 3) as tf.Tensor4D;
    const shapes = graphShapes(graph, 2);
    try {
      for (const training of [false, true, false]) {
        const before = tf.memory().numTensors;
        const { sources, locPred, clsLogits } = runGraph(graph, store, x, { training });
        assert.deepEqual(sources.map((s) => s.shape), graph.sources.map((r) => shapes[r]));
        assert.deepEqual(locPred.shape, shapes[graph.locPred]);
        assert.deepEqual(clsLogits.shape, shapes[graph.clsLogits]);
        tf.dispose([...sources, locPred, clsLogits]);
        assert.equal(tf.memory().numTensors, before);
      }
      // one training run counted by every BatchNorm
      assert.ok(graph.counters.every((c) => store.counters.get(c) === 1));
    } finally {
      x.dispose();
      store.dispose();
    }
  });
}

Deno.test("describeNetwork() refuses priors whose maps the network does not make", () => {
  const cfg = getConfig("tiny");
  const layers = cfg.priors.layers.map((l, i) =>
    i === 2 ? { ...l, featureSize: [4, 4] as [number, number] } : l
  );
  assert.throws(
    () => describeNetwork({ ...cfg, priors: { ...cfg.priors, layers } }),
    { name: "RangeError", message: /source map 2 is 5×5, the priors expect 4×4/ },
  );
  assert.throws(
    () => describeNetwork({ ...cfg, priors: { ...cfg.priors, layers: layers.slice(1) } }),
    { name: "RangeError", message: /expected 5 source maps, got 4/ },
  );
});

Deno.test("GraphBuilder refuses a taken name and an input that is not an earlier node", () => {
  const g = new GraphBuilder();
  g.param("a.weight", [1], { init: { kind: "constant", value: 0 } });
  assert.throws(
    () => g.param("a.weight", [2], { init: { kind: "constant", value: 0 } }),
    { name: "RangeError", message: /"a.weight": the name is already taken/ },
  );
  assert.throws(() => g.node({ op: "relu", input: 1 }), RangeError);
  assert.equal(g.node({ op: "relu", input: g.input }), 1);
});

Deno.test("graphShapes() and runGraph() follow PyTorch max pooling or refuse it", async () => {
  await useBackend("cpu");
  const pooled = (opts: Parameters<typeof maxPool>[1], size: number) => {
    const g = new GraphBuilder();
    const y = maxPool(g, opts)(g.input);
    const flat = g.node({ op: "flattenHead", inputs: [y], columns: 3 });
    const graph = g.finish({
      arch: "pool",
      imageSize: [size, size],
      sources: [y],
      locPred: flat,
      clsLogits: flat,
    });
    const x = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
    try {
      const { sources, locPred } = runGraph(graph, createParamStore(graph), x);
      tf.dispose(locPred);
      const got = sources[0].shape;
      tf.dispose(sources);
      return { inferred: graphShapes(graph)[y][1], got: got[1] };
    } finally {
      x.dispose();
    }
  };
  // nn.MaxPool2d(2, 2, ceil_mode=True)(75×75) → 38×38; without ceil_mode 37×37;
  // nn.MaxPool2d(3, 1, 1) keeps 19×19 (SSD300 pool5)
  assert.deepEqual(pooled({ kernel: 2, stride: 2, ceil: true }, 75), { inferred: 38, got: 38 });
  assert.deepEqual(pooled({ kernel: 2, stride: 2 }, 75), { inferred: 37, got: 37 });
  assert.deepEqual(pooled({ kernel: 3, stride: 1, padding: 1 }, 19), { inferred: 19, got: 19 });
  // nn.MaxPool2d(3, 2, 1): tfjs pooling cannot pad one row before
  assert.throws(() => pooled({ kernel: 3, stride: 2, padding: 1 }, 8), RangeError);
});
