/**
 * A whole SSD training step as one ONNX graph that onnxruntime runs as inference, so the
 * convolutions and their gradients run in onnxruntime's native kernels (MLAS) instead of wasm.
 * Inputs: `images [B, H, W, 3]` (NHWC, as the loader makes them), every parameter (PyTorch
 * names and layouts), and the matcher's `loc_targets [B, P, 4]` and `labels [B, P]` (int32).
 * Outputs: `loss`, `loc_loss`, `cls_loss`, each BatchNorm's batch mean and biased variance (for
 * the running statistics) and `grad.{name}` for every trainable parameter. Everything stays in
 * one run: onnxruntime-node copies each output into JS, and handing activations to JS and back
 * cost more than the forward itself (face-slim-320 at batch 16: 10× the forward alone).
 *
 * - forward in training mode (BatchNorm on batch statistics);
 * - the MultiBox loss of `lib/loss.ts` (smooth L1, cross-entropy with hard negative mining 3:1
 *   by `TopK`, both over max(1, positives)) and its gradient with respect to the head outputs;
 * - gradients written out per op: a conv's input gradient is a conv of the output gradient
 *   with the flipped kernel (stride 1) or a `ConvTranspose`; a dense conv's weight gradient one
 *   matrix product per kernel tap, a depthwise one batched row products per tap (the taps' windows
 *   stride-1 slices, by SpaceToDepth phase for a stride 2); BatchNorm's the batch-statistics
 *   formula; ReLU's the output gradient times [y > 0];
 * - where onnxruntime has its NCHWc kernel (`onnx_nchwc.ts`), the convs larger than 1×1 (forward
 *   and stride-1 input gradients) run in it, and, for a graph of one batch size, so do the
 *   depthwise filter gradients (one conv of the B·C images with dy as their filters).
 *
 * The step is mostly memory-bound passes over the largest activations, so the lowering counts
 * them: a per-channel affine is one BatchNormalization (inference mode) rather than a Mul and an
 * Add, masks are products of threaded ops rather than `Where`, `Sign` or comparisons (4–10× a
 * Mul in onnxruntime, and single-threaded), and no strided slices (copied element by element).
 *
 * Supported ops: conv (plain and depthwise, any stride, padding and dilation), batchNorm,
 * relu, relu6, add, concat, flattenHead: what `tiny` and UltraFace use. Others (max pooling,
 * L2 norm, hard-swish, squeeze-excitation) are refused by name ({@link onnxTrainingGap}).
 *
 * @module
 */
import type { BatchNormNode, ConvNode, GraphNode, NetworkGraph, Ref } from "../model/graph_ir.ts";
import { graphShapes } from "../model/graph_shapes.ts";
import { floatValueInfo, int32ValueInfo, onnx, OnnxGraphBuilder } from "../export/onnx_builder.ts";
import { lowerNode } from "../export/onnx_network.ts";
import { nchwcConv, type NchwcConvSpec, nchwcFits } from "./onnx_nchwc.ts";

const FLOAT = onnx.TensorProto.DataType.FLOAT;

const OPS = new Set([
  "input",
  "conv",
  "batchNorm",
  "relu",
  "relu6",
  "add",
  "concat",
  "flattenHead",
]);

/** The step graph and the names of its parameters and BatchNorm outputs. */
export interface TrainGraphs {
  /** The serialized step model. */
  step: Uint8Array;
  /** Parameters the graph takes as inputs, with their PyTorch shapes. */
  params: { name: string; shape: number[] }[];
  /**
   * Per BatchNorm: its state-dict prefix, the forward outputs of its batch mean and biased
   * variance (`[1, C, 1, 1]`), and the values it averages per image (H·W).
   */
  batchNorms: { prefix: string; mean: string; variance: string; perImage: number }[];
}

/** A graph input or output; dims are fixed except the batch (`B`). */
type ValueInfo = ReturnType<typeof floatValueInfo>;

/** `make()` on the first call, its value on every later one. */
function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/**
 * Σ over H, W of a·c, per image and channel (`a`, `c` NCHW of `channels` channels and H·W = `hw`):
 * `[B, C, 1, 1]`. One batched product of rows, `a [B·C, 1, H·W] × cᵀ [B·C, H·W, 1]`, for which
 * onnxruntime folds the Transpose into the product (transB): it reads a and c once, and takes half
 * the time of a Mul and a GlobalAveragePool, which write the product out and read it back.
 * `cT` may be given (from {@link rowsT}) when several products share c.
 */
function channelDots(
  b: OnnxGraphBuilder,
  a: string,
  c: string,
  channels: number,
  hw: number,
  cT: string = rowsT(b, c, hw),
): string {
  const rows = b.int64(`const.rows_${hw}`, [3], [-1, 1, hw]);
  const dots = b.node("MatMul", [b.node("Reshape", [a, rows]), cT]); // [B·C, 1, 1]
  return b.node("Reshape", [dots, b.int64(`const.bc11_${channels}`, [4], [-1, channels, 1, 1])]);
}

/** `c` [B, C, H, W] as transposed rows `[B·C, H·W, 1]`, the right side of {@link channelDots}. */
function rowsT(b: OnnxGraphBuilder, c: string, hw: number): string {
  const rows = b.int64(`const.rows_${hw}`, [3], [-1, 1, hw]);
  return b.node("Transpose", [b.node("Reshape", [c, rows])], { perm: [0, 2, 1] });
}

/**
 * x·scale + bias per channel (NCHW; `scale` and `bias` of shape [C]) in one pass: an
 * inference-mode BatchNormalization over mean 0, variance 1 and ε 0, which onnxruntime computes
 * as exactly that, where a Mul and an Add take two passes over x.
 */
function affine(b: OnnxGraphBuilder, x: string, scale: string, bias: string, c: number): string {
  const [zeros, ones] = [`const.zeros_${c}`, `const.ones_${c}`];
  if (!b.has(zeros)) b.initializer(zeros, [c], new Float32Array(c));
  if (!b.has(ones)) b.initializer(ones, [c], new Float32Array(c).fill(1));
  return b.node("BatchNormalization", [x, scale, bias, zeros, ones], { epsilon: { float: 0 } });
}

/** The refs a node reads. */
function nodeInputs(node: GraphNode): Ref[] {
  if ("inputs" in node) return node.inputs;
  return "input" in node ? [node.input] : [];
}

/** The parameter names a supported node owns. */
function nodeParams(node: GraphNode): string[] {
  if (node.op === "conv") return node.bias ? [node.weight, node.bias] : [node.weight];
  if (node.op === "batchNorm") return [`${node.prefix}.weight`, `${node.prefix}.bias`];
  return [];
}

/** Why `graph` cannot train in onnxruntime (an op without a gradient here), or undefined. */
export function onnxTrainingGap(graph: NetworkGraph): string | undefined {
  const node = graph.nodes.find((n) => !OPS.has(n.op));
  return node === undefined ? undefined : `its graph has a ${node.op} node ` +
    `(supported: ${[...OPS].filter((o) => o !== "input").join(", ")})`;
}

/** What {@link lowerForward} made: each node's value, and each BatchNorm's x̂ and 1/σ. */
interface Lowered {
  names: string[];
  norm: Map<string, { xhat: string; inv: string; mean: string; variance: string }>;
}

/**
 * Appends the training-mode forward pass of `graph` to `b`, reading `images` (NHWC); `param`
 * declares a parameter input on first use and returns its name. Every op but BatchNorm is the
 * ONNX export's own lowering (`lowerNode`), except convs that fit onnxruntime's NCHWc kernel at
 * `block` channels ({@link nchwcConv}); BatchNorm normalizes with the batch statistics and keeps
 * x̂ and 1/σ for the backward pass.
 */
function lowerForward(
  b: OnnxGraphBuilder,
  graph: NetworkGraph,
  param: (name: string) => string,
  block: number,
): Lowered {
  const names: string[] = [b.node("Transpose", ["images"], { perm: [0, 3, 1, 2] })];
  const norm: Lowered["norm"] = new Map();
  const v = (ref: Ref) => names[ref];
  // a mean over B, H, W: GlobalAveragePool (contiguous H·W), then a mean over B
  const batchMean = (t: string) =>
    b.node("ReduceMean", [b.node("GlobalAveragePool", [t])], { axes: [0], keepdims: 1 });
  const batchNorm = (node: BatchNormNode, i: number): string => {
    const x = v(node.input);
    const mean = batchMean(x);
    const xc = b.node("Sub", [x, mean]);
    const variance = batchMean(b.node("Mul", [xc, xc]));
    const eps = b.scalar(`const.eps_${i}`, node.eps, []);
    const inv = b.node("Reciprocal", [b.node("Sqrt", [b.node("Add", [variance, eps])])]);
    const xhat = b.node("Mul", [xc, inv]);
    norm.set(node.prefix, { xhat, inv, mean, variance });
    return affine(
      b,
      xhat,
      param(`${node.prefix}.weight`),
      param(`${node.prefix}.bias`),
      node.channels,
    );
  };
  for (let i = 1; i < graph.nodes.length; i++) {
    const node = graph.nodes[i];
    const spec = node.op === "conv" ? convSpec(node) : undefined;
    if (node.op === "conv" && spec && nchwcFits(spec, block)) {
      const bias = node.bias ? param(node.bias) : undefined;
      names.push(nchwcConv(b, v(node.input), param(node.weight), bias, spec, block));
      continue;
    }
    names.push(
      node.op === "batchNorm" ? batchNorm(node, i) : lowerNode(b, node, v, (name) => param(name)),
    );
  }
  return { names, norm };
}

/** The NCHWc description of a conv node. */
function convSpec(node: ConvNode): NchwcConvSpec {
  return {
    cin: node.inChannels,
    cout: node.outChannels,
    kernel: node.kernel,
    stride: node.stride,
    padding: node.padding,
    dilation: node.dilation,
    depthwise: node.depthwise,
  };
}

/** Options of {@link buildTrainGraphs}. */
export interface TrainGraphOptions {
  /** The parameters that get gradients (default: every trainable one); the others are inputs. */
  trainable?: Set<string>;
  /** Hard negatives per positive. Default 3. */
  negPosRatio?: number;
  /**
   * onnxruntime's NCHWc block on this machine (`nchwcBlock()` of `onnx_nchwc.ts`); 0, the
   * default, keeps every conv in ONNX's `Conv`.
   */
  nchwcBlock?: number;
  /**
   * The batch size, when the graph is for that size only: the depthwise filter gradients then run
   * as NCHWc convs whose groups are the batch's images × channels. Default: any batch size.
   */
  batch?: number;
}

/**
 * Builds the forward and backward graphs of `graph`.
 *
 * @throws {RangeError} for an op this lowering does not support.
 */
export function buildTrainGraphs(graph: NetworkGraph, opts: TrainGraphOptions = {}): TrainGraphs {
  const { trainable, negPosRatio = 3, nchwcBlock = 0, batch } = opts;
  const gap = onnxTrainingGap(graph);
  if (gap !== undefined) throw new RangeError(`Cannot train ${graph.arch} in onnxruntime: ${gap}`);
  const shapes = graphShapes(graph, 1);
  const spec = new Map(graph.params.map((p) => [p.name, p]));
  const wanted = trainable ??
    new Set(graph.params.filter((p) => p.trainable).map((p) => p.name));
  const batchDim = batch ?? "B";
  const images = floatValueInfo("images", [batchDim, ...shapes[0].slice(1)]);
  const paramInputs = new Map<string, number[]>();
  const paramsOf = (b: OnnxGraphBuilder, inputs: ValueInfo[]) => (name: string) => {
    if (!b.has(name)) {
      const shape = spec.get(name)?.torchShape;
      if (shape === undefined) throw new RangeError(`Cannot train: no parameter "${name}"`);
      b.fresh(name);
      inputs.push(floatValueInfo(name, shape));
      paramInputs.set(name, shape);
    }
    return name;
  };

  // the forward pass, the loss and its gradient, then the gradients of the network: one run,
  // every activation kept inside onnxruntime (onnxruntime-node copies each output into JS;
  // handing activations to JS and back cost more than the forward itself)
  const bwd = new OnnxGraphBuilder();
  bwd.fresh("images");
  const bwdInputs: ValueInfo[] = [images];
  const bwdOutputs: ValueInfo[] = [];
  const bparam = paramsOf(bwd, bwdInputs);
  const { names, norm } = lowerForward(bwd, graph, bparam, nchwcBlock);
  const output = (value: string, name: string, dims: (number | string)[]) => {
    const out = bwd.node("Identity", [value], {}, { outputs: [name] });
    bwdOutputs.push(floatValueInfo(out, dims));
    return out;
  };
  const [, p, c] = shapes[graph.clsLogits];
  bwd.fresh("loc_targets");
  bwd.fresh("labels");
  bwdInputs.push(
    floatValueInfo("loc_targets", [batchDim, p, 4]),
    int32ValueInfo("labels", [batchDim, p]),
  );
  const loss = lowerLoss(bwd, names[graph.locPred], names[graph.clsLogits], {
    priors: p,
    classes: c,
    negPosRatio,
  });
  output(loss.loss, "loss", []);
  output(loss.locLoss, "loc_loss", []);
  output(loss.clsLoss, "cls_loss", []);
  const batchNorms: TrainGraphs["batchNorms"] = [];
  graph.nodes.forEach((node, i) => {
    if (node.op !== "batchNorm") return;
    const stats = norm.get(node.prefix)!;
    const dims = [1, node.channels, 1, 1];
    const mean = output(stats.mean, `${node.prefix}.batch_mean`, dims);
    const variance = output(stats.variance, `${node.prefix}.batch_var`, dims);
    batchNorms.push({ prefix: node.prefix, mean, variance, perImage: shapes[i][1] * shapes[i][2] });
  });
  // a node needs its output's gradient only when a parameter to train is at or before it
  // (with a frozen backbone the backward pass stops at its end)
  const needed = graph.nodes.map(() => false);
  graph.nodes.forEach((node, i) => {
    needed[i] = nodeParams(node).some((n) => wanted.has(n)) ||
      nodeInputs(node).some((r) => needed[r]);
  });
  const grads = new Map<Ref, string[]>();
  // adds a gradient contribution to `ref`, built only when `ref` needs it
  const add = (ref: Ref, make: () => string) => {
    if (needed[ref]) grads.set(ref, [...(grads.get(ref) ?? []), make()]);
  };
  add(graph.locPred, () => loss.dLoc);
  add(graph.clsLogits, () => loss.dLogits);
  // shared constants, added on first use (onnxruntime warns of unused initializers)
  const axes = once(() => bwd.int64("const.axes_023", [3], [0, 2, 3]));
  const shape1c11 = once(() => bwd.int64("const.shape_1c11", [4], [1, -1, 1, 1]));
  const flatShape = once(() => bwd.int64("const.shape_c", [1], [-1]));
  const gradOut = (name: string, value: string) => {
    const out = bwd.node("Identity", [value], {}, { outputs: [`grad.${name}`] });
    bwdOutputs.push(floatValueInfo(out, spec.get(name)!.torchShape));
  };
  // Σ and mean over B, H, W, from one pass over x: GlobalAveragePool (contiguous H·W) gives
  // [B, C, 1, 1] means per image, then a reduction over B
  const channelStats = (x: string, hw: number) => {
    const perImage = bwd.node("GlobalAveragePool", [x]);
    const sum = bwd.node("Mul", [
      bwd.node("ReduceSum", [perImage, axes()], { keepdims: 0 }),
      bwd.scalar(`const.hw${hw}`, hw, []),
    ]); // [C]
    const mean = once(() => bwd.node("ReduceMean", [perImage], { axes: [0, 2, 3], keepdims: 0 })); // [C]
    return { sum, mean };
  };
  // the same of a·c: per-image sums of products (channelDots), then a reduction over B
  const channelDotStats = (a: string, c: string, channels: number, hw: number) => {
    const perImage = channelDots(bwd, a, c, channels, hw);
    const sum = bwd.node("ReduceSum", [perImage, axes()], { keepdims: 0 }); // [C]
    const mean = once(() =>
      bwd.node("Mul", [
        bwd.node("ReduceMean", [perImage], { axes: [0, 2, 3], keepdims: 0 }),
        bwd.scalar(`const.inv_hw${hw}`, 1 / hw, []),
      ])
    ); // [C]
    return { sum, mean };
  };
  const sumAxes = (x: string, hw: number) => channelStats(x, hw).sum;
  for (let i = graph.nodes.length - 1; i >= 1; i--) {
    const parts = grads.get(i);
    if (parts === undefined) continue;
    const g = parts.length === 1 ? parts[0] : bwd.node("Sum", parts);
    const node = graph.nodes[i];
    switch (node.op) {
      case "flattenHead": {
        const sizes = node.inputs.map((r) =>
          (shapes[r][1] * shapes[r][2] * shapes[r][3]) / node.columns
        );
        const pieces = node.inputs.length === 1 ? [g] : split(bwd, g, sizes, `flat_${i}`);
        node.inputs.forEach((r, j) => {
          const [, h, w, c] = shapes[r];
          const shape = bwd.int64(`const.unflat_${r}`, [4], [0, h, w, c]);
          add(r, () =>
            bwd.node("Transpose", [bwd.node("Reshape", [pieces[j], shape])], {
              perm: [0, 3, 1, 2],
            }));
        });
        break;
      }
      case "concat": {
        const pieces = split(bwd, g, node.inputs.map((r) => shapes[r][3]), `concat_${i}`);
        node.inputs.forEach((r, j) => add(r, () => pieces[j]));
        break;
      }
      case "add":
        node.inputs.forEach((r) => add(r, () => g));
        break;
      case "relu":
      case "relu6":
        add(node.input, () => activationBackward(bwd, node.op as "relu" | "relu6", g, names[i]));
        break;
      case "batchNorm": {
        // dx = s·g − (x̂·s·mean(g·x̂) + s·mean(g)), s = γ/σ, means over B, H, W (the bracket one
        // affine pass); dβ = Σ g, dγ = Σ g·x̂
        const { xhat, inv } = norm.get(node.prefix)!;
        const [wName, bName] = [`${node.prefix}.weight`, `${node.prefix}.bias`];
        const hw = shapes[i][1] * shapes[i][2];
        const g1 = channelStats(g, hw);
        const g2 = channelDotStats(g, xhat, node.channels, hw);
        if (wanted.has(bName)) gradOut(bName, g1.sum);
        if (wanted.has(wName)) gradOut(wName, g2.sum);
        add(node.input, () => {
          const c = node.channels;
          const invC = bwd.node("Reshape", [inv, flatShape()]); // [1, C, 1, 1] → [C]
          const s = bwd.node("Mul", [bparam(wName), invC]);
          const rest = affine(
            bwd,
            xhat,
            bwd.node("Mul", [s, g2.mean()]),
            bwd.node("Mul", [s, g1.mean()]),
            c,
          );
          return bwd.node("Sub", [
            bwd.node("Mul", [g, bwd.node("Reshape", [s, shape1c11()])]),
            rest,
          ]);
        });
        break;
      }
      case "conv":
        convBackward(bwd, node, g, names[node.input], shapes[node.input], shapes[i], {
          weight: bparam,
          wanted,
          gradOut,
          sumAxes,
          addInput: needed[node.input] ? (dx) => add(node.input, () => dx) : undefined,
          nchwcBlock,
          batch,
        });
        break;
      default:
        throw new RangeError(`unreachable: ${node.op}`);
    }
  }
  const missing = [...wanted].filter((n) => !bwdOutputs.some((o) => o.name === `grad.${n}`));
  if (missing.length > 0) {
    throw new RangeError(`Cannot train ${graph.arch}: no gradient reaches ${missing.join(", ")}`);
  }
  return {
    step: bwd.encode({ name: `${graph.arch}_train_step`, inputs: bwdInputs, outputs: bwdOutputs }),
    params: [...paramInputs].map(([name, shape]) => ({ name, shape })),
    batchNorms,
  };
}

function split(b: OnnxGraphBuilder, x: string, sizes: number[], hint: string): string[] {
  const s = b.int64(`const.${hint}_sizes`, [sizes.length], sizes);
  return b.nodeOutputs("Split", [x, s], { axis: 1 }, sizes.map((_, j) => `${hint}_part${j}`));
}

/**
 * Appends the input gradient of a ReLU or ReLU6 to `b` from its output gradient `g` and its
 * output `y`, as PyTorch takes it: g where the input x is in (0, ∞) or (0, 6), else 0 (from y:
 * 0 < x < 6 exactly when y·(6 − y) > 0, 6 − y being exact near 6). The mask [v > 0] of a v ≥ 0 is
 * two HardSigmoids, max(0, min(1, 2¹²⁷·v)): the first maps every normal v to 1 and a denormal
 * one to at least 2⁻²², the second that to 1. Both are threaded in onnxruntime, unlike `Sign` or
 * `Greater` + `Cast` (4× a Mul, single-threaded) and `Where` (10×). Returns dx's name.
 */
export function activationBackward(
  b: OnnxGraphBuilder,
  op: "relu" | "relu6",
  g: string,
  y: string,
): string {
  const clampUp = (v: string) =>
    b.node("HardSigmoid", [v], { alpha: { float: 2 ** 127 }, beta: { float: 0 } });
  const v = op === "relu"
    ? y
    : b.node("Mul", [y, b.node("Sub", [b.scalar("const.six", 6, []), y])]);
  return b.node("Mul", [g, clampUp(clampUp(v))]);
}

/**
 * Appends the gradients of one conv (NCHW values, PyTorch weight layouts) to `b`: given its
 * input `x` and output gradient `dy`, it hands `grad(bias)` and `grad(weight)` to `io.gradOut`
 * (for the names in `io.wanted`) and dx to `io.addInput` (when given). `inShape` and `outShape`
 * are the NHWC shapes of `graphShapes` (the batch is not read); `io.weight(name)` is the weight's
 * value, `io.sumAxes(t, H·W)` a sum over B, H, W giving `[C]`; a stride-1 dx runs in the NCHWc
 * kernel when it fits `io.nchwcBlock` (default 0: never), and so does a depthwise dW when the batch
 * size `io.batch` is fixed.
 */
export function convBackward(
  b: OnnxGraphBuilder,
  node: ConvNode,
  dy: string,
  x: string,
  inShape: number[],
  outShape: number[],
  io: {
    weight: (name: string) => string;
    wanted: Set<string>;
    gradOut: (name: string, value: string) => void;
    sumAxes: (x: string, hw: number) => string;
    addInput?: (dx: string) => void;
    nchwcBlock?: number;
    batch?: number;
  },
) {
  const { kernel: k, stride: s, padding: p, dilation: d, inChannels: cin } = node;
  const [, h, w] = inShape;
  const [, ho, wo] = outShape;
  const groups = node.depthwise ? cin : 1;
  if (node.bias && io.wanted.has(node.bias)) io.gradOut(node.bias, io.sumAxes(dy, ho * wo));
  if (io.wanted.has(node.weight)) {
    io.gradOut(
      node.weight,
      node.depthwise
        ? depthwiseWeightGrad(b, node, x, dy, inShape, outShape, io.nchwcBlock ?? 0, io.batch)
        : denseWeightGrad(b, node, x, dy, inShape, outShape),
    );
  }
  if (io.addInput) {
    const wt = io.weight(node.weight);
    const q = d * (k - 1) - p;
    if (s === 1 && q >= 0) {
      // stride 1: dx is the conv of dy with the kernel flipped (and, unless depthwise, its in and
      // out channels swapped), padded d·(k − 1) − p: onnxruntime's forward conv kernels, faster
      // than its ConvTranspose (for depthwise most of all)
      const swapped = node.depthwise ? wt : b.node("Transpose", [wt], { perm: [1, 0, 2, 3] });
      const flipped = k === 1 ? swapped : b.node("Slice", [
        swapped,
        b.int64(`const.flip_start${k}`, [2], [k - 1, k - 1]),
        b.int64("const.flip_end", [2], [-(2 ** 62), -(2 ** 62)]),
        b.int64("const.axes23", [2], [2, 3]),
        b.int64("const.steps_m1", [2], [-1, -1]),
      ]);
      // the conv from dy (out channels) back to x (in channels)
      const spec = { ...convSpec(node), cin: node.outChannels, cout: cin, padding: q };
      io.addInput(
        nchwcFits(spec, io.nchwcBlock ?? 0)
          ? nchwcConv(b, dy, flipped, undefined, spec, io.nchwcBlock!)
          : b.node("Conv", [dy, flipped], {
            kernel_shape: [k, k],
            pads: [q, q, q, q],
            dilations: [d, d],
            group: groups,
          }),
      );
      return;
    }
    const span = (n: number) => (n - 1) * s - 2 * p + d * (k - 1) + 1;
    io.addInput(b.node("ConvTranspose", [dy, wt], {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [p, p, p, p],
      dilations: [d, d],
      group: groups,
      output_padding: [h - span(ho), w - span(wo)],
    }));
  }
}

/**
 * The k² strided windows of a conv's input, one per kernel tap (a, e), in tap order:
 * `padded[:, y·s + a·d, x·s + e·d]` over the output's Ho×Wo positions, sliced on `axes`
 * (the spatial axes of the layout `padded` is in).
 */
function tapWindows(
  b: OnnxGraphBuilder,
  node: ConvNode,
  padded: string,
  outShape: number[],
  axes: [number, number],
): string[] {
  const { kernel: k, stride: s, dilation: d } = node;
  const [, ho, wo] = outShape;
  const windows: string[] = [];
  for (let a = 0; a < k; a++) {
    for (let e = 0; e < k; e++) {
      const start = [a * d, e * d];
      const end = [start[0] + (ho - 1) * s + 1, start[1] + (wo - 1) * s + 1];
      windows.push(b.node("Slice", [
        padded,
        b.int64(`const.start_${start}`, [2], start),
        b.int64(`const.end_${end}`, [2], end),
        b.int64(`const.axes${axes.join("")}`, [2], axes),
        b.int64(`const.steps${s}`, [2], [s, s]),
      ]));
    }
  }
  return windows;
}

/**
 * The same windows as {@link tapWindows} for a stride s > 1 and dilation 1 (NCHW), without
 * strided copies: x padded to s·(⌊(k − 1) / s⌋ + Ho) rows (and columns alike), split into its s²
 * phases by SpaceToDepth (one pass), then the window of tap (a, e) is phase (a mod s, e mod s)
 * from (⌊a / s⌋, ⌊e / s⌋) on: a stride-1 slice (onnxruntime copies strided slices element by
 * element, 3× slower).
 */
function phaseWindows(
  b: OnnxGraphBuilder,
  node: ConvNode,
  x: string,
  inShape: number[],
  outShape: number[],
): string[] {
  const { kernel: k, stride: s, padding: p, inChannels: c } = node;
  const [, h, w] = inShape;
  const [, ho, wo] = outShape;
  const reach = Math.floor((k - 1) / s);
  const [hp, wp] = [s * (reach + ho), s * (reach + wo)];
  // the bottom and right padding that makes the size hp × wp (negative: crop)
  const [bottom, right] = [hp - h - p, wp - w - p];
  const pads = [0, 0, p, p, 0, 0, Math.max(bottom, 0), Math.max(right, 0)];
  let padded = b.node("Pad", [x, b.int64(`const.pads_${pads}`, [8], pads)]);
  if (bottom < 0 || right < 0) {
    padded = b.node("Slice", [
      padded,
      b.int64("const.zeros2", [2], [0, 0]),
      b.int64(`const.end_${hp}_${wp}`, [2], [hp, wp]),
      b.int64("const.axes23", [2], [2, 3]),
    ]);
  }
  const phases = b.node("SpaceToDepth", [padded], { blocksize: s }); // [B, s²·C, hp/s, wp/s]
  const windows: string[] = [];
  for (let a = 0; a < k; a++) {
    for (let e = 0; e < k; e++) {
      const phase = (a % s) * s + (e % s);
      const start = [phase * c, Math.floor(a / s), Math.floor(e / s)];
      const end = [start[0] + c, start[1] + ho, start[2] + wo];
      windows.push(b.node("Slice", [
        phases,
        b.int64(`const.start_${start}`, [3], start),
        b.int64(`const.end_${end}`, [3], end),
        b.int64("const.axes123", [3], [1, 2, 3]),
      ]));
    }
  }
  return windows;
}

/** The k² windows of x (NCHW) in tap order: by phase for a stride > 1 (dilation 1), else sliced. */
function nchwWindows(
  b: OnnxGraphBuilder,
  node: ConvNode,
  x: string,
  inShape: number[],
  outShape: number[],
): string[] {
  return node.stride > 1 && node.dilation === 1
    ? phaseWindows(b, node, x, inShape, outShape)
    : tapWindows(b, node, padSpatial(b, x, node.padding), outShape, [2, 3]);
}

/** x zero-padded by `p` on both spatial sides (NCHW). */
function padSpatial(b: OnnxGraphBuilder, x: string, p: number): string {
  return p === 0 ? x : b.node("Pad", [x, b.int64(`const.pad${p}`, [8], [0, 0, p, p, 0, 0, p, p])]);
}

/**
 * dW[o, i, a, e] = Σ_b,y,x dy[b, o, y, x] · xpad[b, i, y·s + a·d, x·s + e·d]: per tap (a, e)
 * one matrix product `dy [Cout, B·Ho·Wo] × window [B·Ho·Wo, Cin]` (as two halves of the batch)
 * of a strided slice of the padded input in NHWC (a conv of x with dy as a Ho×Wo filter computes
 * the same, but as a k²-column product: 1.5–2× slower in onnxruntime). With fewer than 16 input
 * channels (an image's 3) those products are too narrow for MLAS and the NHWC slices copy a few
 * floats at a time, so the windows go into one channel-major im2col instead
 * ({@link im2colWeightGrad}).
 */
function denseWeightGrad(
  b: OnnxGraphBuilder,
  node: ConvNode,
  x: string,
  dy: string,
  inShape: number[],
  outShape: number[],
): string {
  const { kernel: k, padding: p, inChannels: cin, outChannels: cout } = node;
  if (cin < 16 && (k > 1 || node.stride > 1)) {
    return im2colWeightGrad(b, node, x, dy, inShape, outShape);
  }
  // the products in S = 2 halves of the batch when B is even (else S = 1), summed: MLAS splits a
  // product among threads by its rows and columns only, and these have few of both (Cout × Cin)
  // but a long inner dimension; as a batch of two it runs a half on each of two threads
  const hw = outShape[1] * outShape[2];
  const s2 = halves(b, dy);
  const withS = (hint: string, rest: number[]) =>
    b.node("Concat", [s2, ints(b, hint, rest)], { axis: 0 });
  const dyMat = b.node("Reshape", [
    b.node(
      "Transpose",
      [b.node("Reshape", [dy, withS(`const.m1_${cout}_${hw}`, [-1, cout, hw])])],
      {
        perm: [0, 2, 1, 3],
      },
    ),
    withS(`const.${cout}_m1`, [cout, -1]),
  ]); // [S, Cout, B/S·Ho·Wo]
  const xhwc = b.node("Transpose", [padSpatial(b, x, p)], { perm: [0, 2, 3, 1] }); // [B, Hp, Wp, Cin]
  const windowShape = withS(`const.m1_${cin}`, [-1, cin]);
  const batchAxis = ints(b, "const.axis0", [0]);
  const taps = tapWindows(b, node, xhwc, outShape, [1, 2]).map((window) => {
    // window [B, Ho, Wo, Cin] → dW[:, :, a, e] = Σ over S of
    // dy [S, Cout, B/S·Ho·Wo] × window [S, B/S·Ho·Wo, Cin]
    const halvesProduct = b.node("MatMul", [dyMat, b.node("Reshape", [window, windowShape])]);
    const product = b.node("ReduceSum", [halvesProduct, batchAxis], { keepdims: 0 });
    return k === 1 ? product : b.node("Unsqueeze", [product, b.int64("const.axis2", [1], [2])]);
  });
  const joined = taps.length === 1 ? taps[0] : b.node("Concat", taps, { axis: 2 }); // [Cout, Cin, k²]
  return b.node("Reshape", [
    joined,
    b.int64(`const.w_${cout}_${cin}_${k}`, [4], [cout, cin, k, k]),
  ]);
}

/** A 1-D int64 constant of `values` named after `hint`. */
function ints(b: OnnxGraphBuilder, hint: string, values: number[]): string {
  return b.int64(hint, [values.length], values);
}

/** `[S]` (int64): 2 when the batch (dim 0 of `t`) is even, else 1. */
function halves(b: OnnxGraphBuilder, t: string): string {
  const two = ints(b, "const.two", [2]);
  const batch = b.node("Slice", [
    b.node("Shape", [t]),
    ints(b, "const.i0", [0]),
    ints(b, "const.i1", [1]),
  ]);
  return b.node("Sub", [two, b.node("Mod", [batch, two])]);
}

/**
 * The dense dW as one product per image: the k² windows (NCHW; stride-1 slices, by phase for a
 * stride > 1) concatenated on channels into cols `[B, k²·Cin, Ho·Wo]` (tap-major), then
 * `dy [B, Cout, Ho·Wo] × colsᵀ` summed over B gives `[Cout, k², Cin]`.
 */
function im2colWeightGrad(
  b: OnnxGraphBuilder,
  node: ConvNode,
  x: string,
  dy: string,
  inShape: number[],
  outShape: number[],
): string {
  const { kernel: k, inChannels: cin, outChannels: cout } = node;
  const windows = nchwWindows(b, node, x, inShape, outShape);
  const cols = windows.length === 1 ? windows[0] : b.node("Concat", windows, { axis: 1 });
  const rows = (c: number) => b.int64(`const.rows3_${c}`, [3], [0, c, -1]);
  const colsT = b.node("Transpose", [b.node("Reshape", [cols, rows(k * k * cin)])], {
    perm: [0, 2, 1],
  }); // [B, Ho·Wo, k²·Cin]: onnxruntime folds the transpose into the product
  const perImage = b.node("MatMul", [b.node("Reshape", [dy, rows(cout)]), colsT]); // [B, Cout, k²·Cin]
  const product = b.node("ReduceSum", [perImage, b.int64("const.axis0", [1], [0])], {
    keepdims: 0,
  });
  const shape = b.int64(`const.w_tap_major_${cout}_${k}_${cin}`, [4], [cout, k, k, cin]);
  return b.node("Transpose", [b.node("Reshape", [product, shape])], { perm: [0, 3, 1, 2] });
}

/**
 * The depthwise dW[c, 0, a, e] = Σ_b,y,x dy[b, c, y, x] · xpad[b, c, y·s + a·d, x·s + e·d].
 *
 * With the batch size fixed and the NCHWc kernel at hand ({@link depthwiseWeightGradNchwc}): one
 * depthwise conv of the batch's B·C channel images with dy as their filters. Otherwise one window
 * of the padded input per tap (by phase for a stride > 1) against dy ({@link channelDots}), summed
 * over the batch (ONNX's grouped `Conv` with dy as the filter unrolls k² copies of the input per
 * group too: no faster).
 */
function depthwiseWeightGrad(
  b: OnnxGraphBuilder,
  node: ConvNode,
  x: string,
  dy: string,
  inShape: number[],
  outShape: number[],
  block: number,
  batch?: number,
): string {
  const { kernel: k, outChannels: c } = node;
  const [, ho, wo] = outShape;
  const spec = batch === undefined ? undefined : depthwiseFilterSpec(node, outShape, batch);
  if (spec && nchwcFits(spec, block)) return depthwiseWeightGradNchwc(b, node, x, dy, spec, block);
  const batchAxis = b.int64("const.axis0", [1], [0]);
  const windows = nchwWindows(b, node, x, inShape, outShape);
  const dyT = rowsT(b, dy, ho * wo);
  const taps = windows.map((window) => {
    // window [B, C, Ho, Wo] → dW[c, 0, a, e] = Σ_b,y,x window · dy
    const perImage = channelDots(b, window, dy, c, ho * wo, dyT); // [B, C, 1, 1]
    return b.node("ReduceSum", [perImage, batchAxis], { keepdims: 0 }); // [C, 1, 1]
  });
  const joined = taps.length === 1 ? taps[0] : b.node("Concat", taps, { axis: 1 }); // [C, k², 1]
  return b.node("Reshape", [joined, b.int64(`const.dw_shape_${c}_${k}`, [4], [c, 1, k, k])]);
}

/**
 * The conv that computes a depthwise filter gradient (see {@link depthwiseWeightGradNchwc}): B·C
 * channels, dy's Ho×Wo as the kernel, dilated by the forward stride and strided by its dilation.
 */
function depthwiseFilterSpec(node: ConvNode, outShape: number[], batch: number): NchwcConvSpec {
  const g = batch * node.outChannels;
  return {
    cin: g,
    cout: g,
    kernel: [outShape[1], outShape[2]],
    stride: node.dilation,
    padding: node.padding,
    dilation: node.stride,
    depthwise: true,
  };
}

/**
 * The depthwise dW as one NCHWc depthwise conv: x as one image of B·C channels, each correlated
 * with its own dy[b, c] (the filter), dilated by the stride s and strided by the dilation d, so
 * output (a, e) is Σ_y,x dy[b, c, y, x] · xpad[b, c, a·d + y·s, e·d + x·s]; its first k × k
 * outputs (there may be one more row or column) summed over the batch. onnxruntime's NCHWc kernel
 * reads x once per output, where the window products copy it k² times (face-slim-320's largest,
 * 16×16×120×160: 9 against 47 ms on two threads). The groups are B·C, so the batch size is fixed.
 */
function depthwiseWeightGradNchwc(
  b: OnnxGraphBuilder,
  node: ConvNode,
  x: string,
  dy: string,
  spec: NchwcConvSpec,
  block: number,
): string {
  const { kernel: k, outChannels: c } = node;
  const g = spec.cin; // B·C
  const [ho, wo] = spec.kernel as [number, number];
  // x [B, C, H, W] as one image of B·C channels (-1: H; 0: W as it is)
  const images = b.node("Reshape", [x, ints(b, `const.one_image_${g}`, [1, g, -1, 0])]);
  const filters = b.node("Reshape", [
    dy,
    ints(b, `const.filters_${g}_${ho}_${wo}`, [g, 1, ho, wo]),
  ]);
  const first = b.node("Slice", [
    nchwcConv(b, images, filters, undefined, spec, block), // [1, B·C, ≥ k, ≥ k]
    ints(b, "const.zeros2", [0, 0]),
    ints(b, `const.end_${k}_${k}`, [k, k]),
    ints(b, "const.axes23", [2, 3]),
  ]); // [1, B·C, k, k]
  const perImage = b.node("Reshape", [first, ints(b, `const.bck_${c}_${k}`, [-1, c, k * k])]);
  const sum = b.node("ReduceSum", [perImage, ints(b, "const.axis0", [0])], { keepdims: 0 });
  return b.node("Reshape", [sum, ints(b, `const.dw_shape_${c}_${k}`, [c, 1, k, k])]);
}

/**
 * The MultiBox loss of `lib/loss.ts` and its gradient with respect to the head outputs, in
 * ONNX: `loc_targets [B, P, 4]` and `labels [B, P]` (int32, 0 = background) from the matcher.
 * Cross-entropy on the positives and, per image, the floor(ratio · positives) negatives of
 * highest cross-entropy (at most as many as there are; among equal losses the lower index
 * first: `TopK`'s order), smooth L1 (β = 1) on the positives' offsets, both over
 * N = max(1, positives). The selection is a constant for the gradient, as in tfjs and PyTorch:
 * dlogits = (softmax − onehot)·w / N, dloc = clip(loc − target, −1, 1)·[positive] / N.
 */
function lowerLoss(
  b: OnnxGraphBuilder,
  loc: string,
  logits: string,
  o: { priors: number; classes: number; negPosRatio: number },
) {
  const f = (hint: string, v: number) => b.scalar(`const.${hint}`, v, []);
  const i64 = (hint: string, values: number[]) => b.int64(`const.${hint}`, [values.length], values);
  const i32 = (hint: string, values: number[]) => b.int32(`const.${hint}`, [values.length], values);
  const labels = "labels";
  const positive = b.node("Greater", [labels, i32("zero_i32", [0])]); // [B, P] bool
  const posF = b.node("Cast", [positive], { to: FLOAT });
  const logp = b.node("LogSoftmax", [logits], { axis: 2 }); // [B, P, C]
  const label3 = b.node("Unsqueeze", [labels, i64("axis2_loss", [2])]); // [B, P, 1]
  const ce = b.node("Neg", [
    b.node("Squeeze", [
      b.node("GatherElements", [logp, label3], { axis: 2 }),
      i64("axis2_sq", [2]),
    ]),
  ]); // [B, P]
  // mining: rank the negatives by loss (positives at −1, below every cross-entropy)
  const negLoss = b.node("Where", [positive, f("minus_one", -1), ce]);
  const numPos = b.node("ReduceSum", [posF, i64("axis1", [1])], { keepdims: 1 }); // [B, 1]
  const k = b.node("Min", [
    b.node("Floor", [b.node("Mul", [numPos, f("ratio", o.negPosRatio)])]),
    b.node("Sub", [f("priors", o.priors), numPos]),
  ]); // [B, 1]
  const [, order] = topK(b, negLoss, o.priors);
  const positions = b.node("Range", [f("range0", 0), f("rangeP", o.priors), f("range1", 1)]); // [P]
  const updates = b.node("Expand", [
    b.node("Unsqueeze", [positions, i64("axis0_loss", [0])]),
    b.node("Shape", [order]),
  ]);
  const rank = b.node("ScatterElements", [b.node("Mul", [negLoss, f("zero", 0)]), order, updates], {
    axis: 1,
  }); // rank[b, order[b, j]] = j
  const chosen = b.node("And", [b.node("Not", [positive]), b.node("Less", [rank, k])]);
  const w = b.node("Cast", [b.node("Or", [positive, chosen])], { to: FLOAT }); // [B, P]
  const n = b.node("Max", [b.node("ReduceSum", [posF], { keepdims: 0 }), f("one", 1)]);
  const clsLoss = b.node("Div", [
    b.node("ReduceSum", [b.node("Mul", [ce, w])], { keepdims: 0 }),
    n,
  ]);
  const classes = i32("classes", Array.from({ length: o.classes }, (_, i) => i));
  const oneHot = b.node("Cast", [b.node("Equal", [label3, classes])], { to: FLOAT }); // [B, P, C]
  const w3 = b.node("Unsqueeze", [w, i64("axis2_w", [2])]);
  const dLogits = b.node("Div", [
    b.node("Mul", [b.node("Sub", [b.node("Exp", [logp]), oneHot]), w3]),
    n,
  ]);
  // localization
  const pos3 = b.node("Unsqueeze", [posF, i64("axis2_pos", [2])]);
  const diff = b.node("Mul", [b.node("Sub", [loc, "loc_targets"]), pos3]);
  const abs = b.node("Abs", [diff]);
  const small = b.node("Min", [abs, f("one_l1", 1)]);
  const smooth = b.node("Add", [
    b.node("Mul", [b.node("Mul", [small, small]), f("half", 0.5)]),
    b.node("Sub", [abs, small]),
  ]);
  const locLoss = b.node("Div", [b.node("ReduceSum", [smooth], { keepdims: 0 }), n]);
  const dLoc = b.node("Div", [b.node("Clip", [diff, f("clip_lo", -1), f("clip_hi", 1)]), n]);
  return { loss: b.node("Add", [locLoss, clsLoss]), locLoss, clsLoss, dLoc, dLogits };
}

/** `TopK` of `x [B, P]` along axis 1, all P, largest first; returns [values, indices]. */
function topK(b: OnnxGraphBuilder, x: string, p: number): [string, string] {
  const k = b.int64("const.topk_k", [1], [p]);
  const [values, indices] = b.nodeOutputs("TopK", [x, k], { axis: 1, largest: 1, sorted: 1 }, [
    "topk_values",
    "topk_indices",
  ]);
  return [values, indices];
}
