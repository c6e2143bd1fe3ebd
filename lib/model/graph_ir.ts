/**
 * Networks as data: the layer graph every architecture builder describes once, that the tfjs
 * engine runs and the exporters (ONNX, TF.js graph model) walk.
 *
 * Conventions (all nodes):
 * - Values are 4-D feature maps, channels last (NHWC), except the two head outputs, which are
 *   `[B, P, K]`. Exporters to channels-first formats transpose at the edges.
 * - A node refers to its inputs by index into {@linkcode NetworkGraph.nodes}; node 0 is the
 *   input (normalized images `[B, H, W, 3]`). Nodes are in topological order.
 * - Parameters are referred to by their PyTorch state-dict name; the tensor itself lives in the
 *   model's state dict (PyTorch layout: conv OIHW, depthwise `[C, 1, kH, kW]`).
 * - PyTorch semantics: symmetric zero padding on every side, `ceil_mode` max pooling.
 *
 * @module
 */
import type { Init, Layout } from "./params.ts";

/** Index of a node in {@linkcode NetworkGraph.nodes}. */
export type Ref = number;

/** `nn.Conv2d` (square kernel); `depthwise` means groups = in = out channels. */
export interface ConvNode {
  /** Tag of the node kind. */
  op: "conv";
  /** The node it reads, `[B, H, W, inChannels]`. */
  input: Ref;
  /** State-dict name of the weight (`{prefix}.weight`). */
  weight: string;
  /** State-dict name of the bias, when the conv has one. */
  bias?: string;
  /** Input channels. */
  inChannels: number;
  /** Output channels (= `inChannels` when `depthwise`). */
  outChannels: number;
  /** Kernel side (square kernels only). */
  kernel: number;
  /** Stride on both axes. */
  stride: number;
  /** Zero padding on every side (PyTorch). */
  padding: number;
  /** Dilation on both axes (1 = none). */
  dilation: number;
  /** One filter per channel (PyTorch weight `[C, 1, kH, kW]`). */
  depthwise: boolean;
}

/** `nn.BatchNorm2d` `{prefix}.{weight,bias,running_mean,running_var}`. */
export interface BatchNormNode {
  /** Tag of the node kind. */
  op: "batchNorm";
  /** The node it reads, `[B, H, W, channels]`. */
  input: Ref;
  /** State-dict prefix of its four tensors and its `num_batches_tracked` counter. */
  prefix: string;
  /** Channels normalized. */
  channels: number;
  /** Added to the variance before the square root. */
  eps: number;
  /** PyTorch momentum of the running statistics (training only). */
  momentum: number;
}

/** Element-wise activations: relu, relu6 = clip(x, 0, 6), hardSigmoid = relu6(x + 3)/6, hardSwish = x·hardSigmoid(x). */
export interface ActivationNode {
  /** Which activation. */
  op: "relu" | "relu6" | "hardSigmoid" | "hardSwish";
  /** The node it reads. */
  input: Ref;
}

/** `nn.MaxPool2d(kernel, stride, padding, ceil_mode)`; padding pads with −∞. */
export interface MaxPoolNode {
  /** Tag of the node kind. */
  op: "maxPool";
  /** The node it reads. */
  input: Ref;
  /** Window side. */
  kernel: number;
  /** Stride on both axes. */
  stride: number;
  /** −∞ padding on every side. */
  padding: number;
  /** PyTorch `ceil_mode`: the output size rounds up. */
  ceil: boolean;
}

/** Mean over H and W, keeping them as 1×1: `[B, 1, 1, C]`. */
export interface GlobalAvgPoolNode {
  /** Tag of the node kind. */
  op: "globalAvgPool";
  /** The node it reads, `[B, H, W, C]`. */
  input: Ref;
}

/** Element-wise sum or product with broadcasting (`[B,H,W,C]` × `[B,1,1,C]` for SE). */
export interface BinaryNode {
  /** Sum or product. */
  op: "add" | "mul";
  /** The two operands. */
  inputs: [Ref, Ref];
}

/** Concatenation along channels (NHWC axis 3). */
export interface ConcatNode {
  /** Tag of the node kind. */
  op: "concat";
  /** The nodes joined, in channel order; all of the same `[B, H, W]`. */
  inputs: Ref[];
}

/**
 * torchvision SSD's conv4_3 L2 normalisation: x · rsqrt(max(Σ_c x², 1e-24)) · weight[c],
 * `weight` a state-dict name (`backbone.scale_weight`, shape `[C]`).
 */
export interface L2NormNode {
  /** Tag of the node kind. */
  op: "l2Norm";
  /** The node it reads, `[B, H, W, channels]`. */
  input: Ref;
  /** State-dict name of the per-channel scale, shape `[channels]`. */
  weight: string;
  /** Channels normalized. */
  channels: number;
}

/**
 * The head flattening: each input `[B, H, W, A·K]` reshaped to `[B, H·W·A, K]`, then all
 * concatenated along axis 1 (prior order: layer, row, column, anchor). Output `[B, P, K]`.
 */
export interface FlattenHeadNode {
  /** Tag of the node kind. */
  op: "flattenHead";
  /** The head convs' outputs, one per source map, in prior-layer order. */
  inputs: Ref[];
  /** K: values per prior (4 for boxes, C for class logits). */
  columns: number;
}

/** The network input, normalized images `[B, H, W, 3]`. Always node 0. */
export interface InputNode {
  /** Tag of the node kind. */
  op: "input";
}

/** One node of the layer graph. */
export type GraphNode =
  | InputNode
  | ConvNode
  | BatchNormNode
  | ActivationNode
  | MaxPoolNode
  | GlobalAvgPoolNode
  | BinaryNode
  | ConcatNode
  | L2NormNode
  | FlattenHeadNode;

/** One parameter tensor the graph needs, in creation order (the order seeds the init). */
export interface ParamSpec {
  /** PyTorch state-dict name. */
  name: string;
  /** Shape in the PyTorch state dict. */
  torchShape: number[];
  /** How the PyTorch shape maps to the tfjs variable's. */
  layout: Layout;
  /** How a fresh model initialises it. */
  init: Init;
  /** false for BatchNorm running statistics. */
  trainable: boolean;
}

/** A whole SSD network as data. */
export interface NetworkGraph {
  /** Architecture name (`ModelConfig.arch`). */
  arch: string;
  /** Input `[H, W]`. */
  imageSize: [number, number];
  /** The nodes in topological order; node 0 is the input. */
  nodes: GraphNode[];
  /** Every parameter, in creation order. */
  params: ParamSpec[];
  /** BatchNorm `num_batches_tracked` counter names (not tensors of the graph). */
  counters: string[];
  /** The source feature maps, one per prior layer. */
  sources: Ref[];
  /** `[B, P, 4]` box offsets (dx, dy, dw, dh), before variances. */
  locPred: Ref;
  /** `[B, P, C]` class logits, background at 0. */
  clsLogits: Ref;
}
