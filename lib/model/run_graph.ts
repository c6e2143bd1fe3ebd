/**
 * The tfjs engine of a {@linkcode NetworkGraph}: the graph's parameters as variables of a
 * {@linkcode ParamStore}, and the nodes run in order with PyTorch semantics on NHWC tensors.
 *
 * - conv: PyTorch pads `padding` on every side, TF `same` at stride 2 pads after only; the
 *   padding becomes `same` where that is equal, else an explicit `tf.pad` then `valid`. Convs
 *   are plain `tf.conv2d` / `tf.depthwiseConv2d` + `tf.add` (never `tf.fused.conv2d`, whose
 *   linear path calls `Conv2DBackpropFilter` directly, missing on wasm), so every node can be
 *   differentiated with the gradients of `lib/engine/gradients.ts`.
 * - batchNorm: running statistics in inference; in training batch statistics over B, H, W
 *   (biased variance), and the running statistics move by `momentum` towards the batch mean
 *   and the unbiased batch variance, and `num_batches_tracked` counts, as PyTorch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { GraphBuilder } from "./graph.ts";
 * import { conv2d } from "./layers.ts";
 * import { createParamStore, runGraph } from "./run_graph.ts";
 * await tf.setBackend("cpu");
 * const g = new GraphBuilder();
 * // Conv2d(3, 4, kernel_size=3, stride=2, padding=1): 8×8 → 4×4, as PyTorch.
 * const y = conv2d(g, "c", { inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1 })(g.input);
 * const flat = g.node({ op: "flattenHead", inputs: [y], columns: 2 });
 * const graph = g.finish({ arch: "demo", imageSize: [8, 8], sources: [y], locPred: flat, clsLogits: flat });
 * const store = createParamStore(graph, { seed: 1 });
 * const images = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
 * const { sources, locPred, clsLogits } = runGraph(graph, store, images);
 * assert.deepEqual(sources[0].shape, [1, 4, 4, 4]);
 * assert.deepEqual(locPred.shape, [1, 32, 2]); // [B, H·W·A, K] with A·K = 4
 * tf.dispose([images, ...sources, locPred, clsLogits]);
 * store.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchNormTraining } from "../engine/op_gradients.ts";
import type { BatchNormNode, ConvNode, GraphNode, MaxPoolNode, NetworkGraph } from "./graph_ir.ts";
import type { HeadOutputs } from "./heads.ts";
import { ParamStore } from "./params.ts";

/**
 * A store with the variables of `graph.params`, created in their order (so a `seed` gives the
 * same weights every time), and its BatchNorm counters at 0.
 */
export function createParamStore(graph: NetworkGraph, opts: { seed?: number } = {}): ParamStore {
  const store = new ParamStore(opts.seed ?? 0);
  for (const { name, torchShape, layout, init, trainable } of graph.params) {
    store.add(name, torchShape, { layout, init, trainable });
  }
  for (const name of graph.counters) store.addCounter(name);
  return store;
}

/** One run of a graph: the parameters and whether BatchNorm uses batch statistics. */
interface Run {
  graph: NetworkGraph;
  store: ParamStore;
  training: boolean;
}

/**
 * Runs `graph` on normalized images `[B, H, W, 3]` with the variables of `store` (made by
 * {@linkcode createParamStore}): the source maps `[B, H_l, W_l, C_l]` and the raw head
 * outputs `[B, P, 4]`, `[B, P, C]` in prior order. `training: true` uses batch statistics in
 * BatchNorm and updates its running statistics and counters in `store`.
 *
 * @throws {RangeError} if a parameter is missing from `store`, or a max pool has a geometry
 * that tfjs pooling cannot give with PyTorch's result.
 */
export function runGraph(
  graph: NetworkGraph,
  store: ParamStore,
  images: tf.Tensor4D,
  opts: { training?: boolean } = {},
): HeadOutputs & { sources: tf.Tensor4D[] } {
  const run: Run = { graph, store, training: opts.training ?? false };
  return tf.tidy(() => {
    const values: tf.Tensor[] = [];
    for (const node of graph.nodes) values.push(runNode(node, values, images, run));
    return {
      sources: graph.sources.map((r) => values[r] as tf.Tensor4D),
      locPred: values[graph.locPred] as tf.Tensor3D,
      clsLogits: values[graph.clsLogits] as tf.Tensor3D,
    };
  });
}

/** The variable of a parameter named by a node. */
function param<R extends tf.Rank>(run: Run, name: string): tf.Variable<R> {
  const entry = run.store.entries.get(name);
  if (!entry) {
    throw new RangeError(`Cannot run ${run.graph.arch}: parameter "${name}" is not in the store`);
  }
  return entry.variable as tf.Variable<R>;
}

function runNode(node: GraphNode, values: tf.Tensor[], images: tf.Tensor4D, run: Run): tf.Tensor {
  const at = (r: number) => values[r] as tf.Tensor4D;
  switch (node.op) {
    case "input":
      return images;
    case "conv":
      return conv(node, at(node.input), run);
    case "batchNorm":
      return batchNorm(node, at(node.input), run);
    case "relu":
      return tf.relu(at(node.input));
    case "relu6":
      return tf.relu6(at(node.input));
    case "hardSigmoid":
      return hardSigmoid(at(node.input));
    case "hardSwish": {
      const x = at(node.input);
      return tf.mul(x, hardSigmoid(x));
    }
    case "maxPool":
      return maxPool(node, at(node.input));
    case "globalAvgPool":
      return tf.mean(at(node.input), [1, 2], true); // [B, 1, 1, C]
    case "add":
      return tf.add(at(node.inputs[0]), at(node.inputs[1]));
    case "mul":
      return tf.mul(at(node.inputs[0]), at(node.inputs[1]));
    case "concat":
      return tf.concat(node.inputs.map(at), 3);
    case "l2Norm": {
      // x·rsqrt(max(Σx², 1e-24)) = x / max(‖x‖₂, 1e-12), with a finite gradient at x = 0
      const x = at(node.input);
      const sumSq = tf.sum(tf.square(x), 3, true); // [B, H, W, 1]
      return tf.mul(tf.mul(x, tf.rsqrt(tf.maximum(sumSq, 1e-24))), param(run, node.weight));
    }
    case "flattenHead": {
      // [B, H, W, A·K] → [B, H·W·A, K], concatenated along the priors
      const flat = node.inputs.map((r) => tf.reshape(at(r), [at(r).shape[0], -1, node.columns]));
      return flat.length === 1 ? flat[0] : tf.concat(flat, 1);
    }
  }
}

/** PyTorch `Hardsigmoid`: relu6(x + 3) / 6. */
function hardSigmoid(x: tf.Tensor4D): tf.Tensor4D {
  return tf.div(tf.relu6(tf.add(x, 3)), 6);
}

/** PyTorch's symmetric padding as the cheapest equivalent tfjs padding. */
function padInput(x: tf.Tensor4D, node: ConvNode): [tf.Tensor4D, "valid" | "same"] {
  const { kernel, stride, padding: p, dilation } = node;
  if (p === 0) return [x, "valid"];
  if (stride === 1 && 2 * p === dilation * (kernel - 1)) return [x, "same"];
  return [tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]), "valid"];
}

function conv(node: ConvNode, x: tf.Tensor4D, run: Run): tf.Tensor4D {
  const { stride, dilation } = node;
  const weight = param<tf.Rank.R4>(run, node.weight);
  const [input, pad] = padInput(x, node);
  const y = node.depthwise
    ? tf.depthwiseConv2d(input, weight, stride, pad, "NHWC", dilation)
    : tf.conv2d(input, weight, stride, pad, "NHWC", dilation);
  return node.bias ? tf.add(y, param(run, node.bias)) : y;
}

function batchNorm(node: BatchNormNode, x: tf.Tensor4D, run: Run): tf.Tensor4D {
  const { prefix, eps, momentum } = node;
  const gamma = param<tf.Rank.R1>(run, `${prefix}.weight`);
  const beta = param<tf.Rank.R1>(run, `${prefix}.bias`);
  const mean = param<tf.Rank.R1>(run, `${prefix}.running_mean`);
  const variance = param<tf.Rank.R1>(run, `${prefix}.running_var`);
  if (!run.training) return tf.batchNorm4d(x, mean, variance, beta, gamma, eps);
  // one op with its closed-form gradient: ~3× fewer passes over x than moments + batchNorm
  const { y, mean: batchMean, variance: batchVar } = batchNormTraining(x, gamma, beta, eps);
  try {
    const n = x.shape[0] * x.shape[1] * x.shape[2];
    const unbiased = tf.mul(batchVar, n / Math.max(1, n - 1));
    mean.assign(tf.add(tf.mul(mean, 1 - momentum), tf.mul(batchMean, momentum)));
    variance.assign(tf.add(tf.mul(variance, 1 - momentum), tf.mul(unbiased, momentum)));
  } finally {
    tf.dispose([batchMean, batchVar]);
  }
  const counter = `${prefix}.num_batches_tracked`;
  run.store.counters.set(counter, (run.store.counters.get(counter) ?? 0) + 1);
  return y;
}

/**
 * `nn.MaxPool2d` with tfjs pooling, whose padding is ignored in the max: `same` where PyTorch
 * pads (k − 1)/2 at stride 1, or where ceil mode adds one window that overhangs the end by
 * one; `valid` where the windows fit.
 */
function maxPool(node: MaxPoolNode, x: tf.Tensor4D): tf.Tensor4D {
  const { kernel, stride, padding, ceil } = node;
  const [h, w] = [x.shape[1], x.shape[2]];
  if (padding > 0) {
    if (stride === 1 && 2 * padding === kernel - 1) return tf.maxPool(x, kernel, 1, "same");
  } else {
    const fits = (h - kernel) % stride === 0 && (w - kernel) % stride === 0;
    if (fits || !ceil) return tf.maxPool(x, kernel, stride, "valid");
    // tfjs `same` pads ⌊total/2⌋ before: PyTorch's ceil mode pads nothing before
    const overhang = (n: number) => (Math.ceil(n / stride) - 1) * stride + kernel - n;
    if (overhang(h) <= 1 && overhang(w) <= 1) return tf.maxPool(x, kernel, stride, "same");
  }
  throw new RangeError(
    `Cannot run MaxPool2d(kernel ${kernel}, stride ${stride}, padding ${padding}, ceil ${ceil}) ` +
      `on ${h}×${w} with tfjs pooling`,
  );
}
