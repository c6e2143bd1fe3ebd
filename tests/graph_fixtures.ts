/**
 * Hand-written layer graphs for the export tests, written from `lib/model/tiny.ts` (the model
 * builders do not describe their graphs yet), and a model wrapper that carries one.
 */
import type { GraphNode, NetworkGraph } from "../lib/model/graph_ir.ts";
import type { SsdModel } from "../lib/model/ssd.ts";
import { boxesPerCell, type ModelConfig, numClasses } from "../lib/config.ts";
import { makeRng } from "../lib/data/rng.ts";

/** `tiny`'s layers: [in, out, kernel, stride, padding]; sources after 4, 6, 8, 10, 12. */
const TINY: [number, number, number, number, number][] = [
  [3, 16, 3, 2, 1],
  [16, 32, 3, 2, 1],
  [32, 32, 3, 1, 1],
  [32, 64, 3, 2, 1],
  [64, 64, 3, 1, 1],
  [64, 128, 3, 2, 1],
  [128, 128, 3, 1, 1],
  [128, 64, 1, 1, 0],
  [64, 128, 3, 2, 1],
  [128, 64, 1, 1, 0],
  [64, 128, 3, 2, 1],
  [128, 64, 1, 1, 0],
  [64, 128, 3, 1, 0],
];
const TINY_SOURCES = [4, 6, 8, 10, 12];

/** The graph of `tiny` (conv-BN-ReLU backbone, torchvision SSDHead). */
export function tinyGraph(cfg: ModelConfig): NetworkGraph {
  const nodes: GraphNode[] = [{ op: "input" }];
  const add = (n: GraphNode) => nodes.push(n) - 1;
  let x = 0;
  const sources: number[] = [];
  TINY.forEach(([inC, outC, kernel, stride, padding], i) => {
    const p = `backbone.layers.${i}`;
    x = add({
      op: "conv",
      input: x,
      weight: `${p}.conv.weight`,
      inChannels: inC,
      outChannels: outC,
      kernel,
      stride,
      padding,
      dilation: 1,
      depthwise: false,
    });
    x = add({
      op: "batchNorm",
      input: x,
      prefix: `${p}.bn`,
      channels: outC,
      eps: 1e-5,
      momentum: 0.1,
    });
    x = add({ op: "relu", input: x });
    if (TINY_SOURCES.includes(i)) sources.push(x);
  });
  const anchors = boxesPerCell(cfg);
  const head = (prefix: string, columns: number) =>
    sources.map((s, i) =>
      add({
        op: "conv",
        input: s,
        weight: `${prefix}.module_list.${i}.weight`,
        bias: `${prefix}.module_list.${i}.bias`,
        inChannels: TINY[TINY_SOURCES[i]][1],
        outChannels: columns * anchors[i],
        kernel: 3,
        stride: 1,
        padding: 1,
        dilation: 1,
        depthwise: false,
      })
    );
  const c = numClasses(cfg);
  const reg = head("head.regression_head", 4);
  const cls = head("head.classification_head", c);
  const locPred = add({ op: "flattenHead", inputs: reg, columns: 4 });
  const clsLogits = add({ op: "flattenHead", inputs: cls, columns: c });
  return {
    arch: cfg.arch,
    imageSize: cfg.imageSize,
    nodes,
    params: [],
    counters: [],
    sources,
    locPred,
    clsLogits,
  };
}

/** `model` with a `graph` (delegating; the model's own `graph` once it has one). */
export function withGraph(
  model: SsdModel,
  graph: NetworkGraph,
): SsdModel & { graph: NetworkGraph } {
  return {
    config: model.config,
    params: model.params,
    graph,
    predict: (x, o) => model.predict(x, o),
    loadStateDict: (sd, o) => model.loadStateDict(sd, o),
    stateDict: () => model.stateDict(),
    numParams: () => model.numParams(),
    dispose: () => model.dispose(),
  };
}

/**
 * The model with a layer graph: its own `graph` when the model builders describe one, else
 * the hand-written graph of `tiny`; undefined for other architectures until then.
 */
export function exportable(model: SsdModel): (SsdModel & { graph: NetworkGraph }) | undefined {
  const own = (model as SsdModel & { graph?: NetworkGraph }).graph;
  if (own) return model as SsdModel & { graph: NetworkGraph };
  return model.config.arch === "tiny" ? withGraph(model, tinyGraph(model.config)) : undefined;
}

/** Whether `model.graph` exists yet (the lib/model refactor). */
export function modelsHaveGraphs(model: SsdModel): boolean {
  return (model as SsdModel & { graph?: NetworkGraph }).graph !== undefined;
}

/**
 * Replaces `model`'s weights with seeded ones that keep activations of order 1 through any
 * depth (the inits of SSDlite, N(0, 0.03), shrink them to 1e-20 by the heads, which would make
 * an export comparison vacuous): conv weights N(0, 2/fanIn), biases N(0, 0.1²), BatchNorm
 * scale U(0.8, 1.2), shift and running mean N(0, 0.1²), running variance U(0.8, 1.2), other
 * vectors (L2Norm scales) U(5, 20).
 */
export function randomizeWeights(model: SsdModel, seed: number): void {
  const rng = makeRng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const sd = model.stateDict();
  for (const [name, t] of sd) {
    if (t.dtype !== "float32") continue;
    const data = t.data as Float32Array;
    const uniform = (lo: number, hi: number) =>
      data.forEach((_, i) => (data[i] = lo + (hi - lo) * rng()));
    if (t.shape.length === 4) {
      const std = Math.sqrt(2 / (t.shape[1] * t.shape[2] * t.shape[3]));
      data.forEach((_, i) => (data[i] = std * normal()));
    } else if (/(running_var|\.weight)$/.test(name)) { // BatchNorm (conv weights are 4-D)
      uniform(0.8, 1.2);
    } else if (/(bias|running_mean)$/.test(name)) {
      data.forEach((_, i) => (data[i] = 0.1 * normal()));
    } else {
      uniform(5, 20);
    }
  }
  model.loadStateDict(sd);
}
