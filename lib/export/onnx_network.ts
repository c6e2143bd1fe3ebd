/**
 * The network half of the ONNX export: each node of a {@linkcode NetworkGraph} as ONNX ops in
 * NCHW, with the state dict's tensors as initializers under their PyTorch names and shapes
 * (conv OIHW and depthwise `[C, 1, kH, kW]` are ONNX's own layouts, so weights go in as they
 * are). The graph's NHWC conventions become NCHW: concatenation on axis 1, per-channel
 * parameters broadcast as `[1, C, 1, 1]`, and each head output transposed to NHWC before it
 * is flattened, so the prior order (layer, row, column, anchor) is the tfjs model's.
 *
 * @module
 */
import type { GraphNode, NetworkGraph } from "../model/graph_ir.ts";
import type { StateDict } from "../io/state_dict.ts";
import { float32Values } from "../model/state_dict_convert.ts";
import type { OnnxGraphBuilder } from "./onnx_builder.ts";

/** The raw head outputs' value names. */
export interface NetworkOutputs {
  /** `[B, P, 4]` offsets. */
  loc: string;
  /** `[B, P, C]` logits. */
  logits: string;
}

/** Adds a state-dict tensor as an initializer (once), checking its shape; returns its name. */
function stateDictParam(
  b: OnnxGraphBuilder,
  sd: StateDict,
  name: string,
  shape: number[],
): string {
  if (b.has(name)) return name;
  const t = sd.get(name);
  if (!t) throw new RangeError(`Cannot export to ONNX: the state dict has no "${name}"`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new RangeError(
      `Cannot export to ONNX: "${name}" must have shape [${shape}], got [${t.shape}]`,
    );
  }
  return b.initializer(name, [...t.shape], float32Values(t));
}

/** A shared constant, created on first use. */
function constant(b: OnnxGraphBuilder, name: string, make: () => string): string {
  return b.has(name) ? name : make();
}

/** Declares a parameter of the given PyTorch shape in the graph (once); returns its name. */
export type ParamValue = (name: string, shape: number[]) => string;

/**
 * Lowers one node (inference semantics: BatchNorm on its running statistics); `v` maps graph
 * refs to value names, `param` supplies the parameters (initializers here, graph inputs for
 * training).
 */
export function lowerNode(
  b: OnnxGraphBuilder,
  node: GraphNode,
  v: (ref: number) => string,
  param: ParamValue,
): string {
  switch (node.op) {
    case "input":
      throw new RangeError("Cannot export to ONNX: only node 0 may be the input");
    case "conv": {
      const groups = node.depthwise ? node.inChannels : 1;
      const k = node.kernel;
      const inputs = [
        v(node.input),
        param(node.weight, [node.outChannels, node.inChannels / groups, k, k]),
      ];
      if (node.bias) inputs.push(param(node.bias, [node.outChannels]));
      const p = node.padding;
      return b.node("Conv", inputs, {
        kernel_shape: [k, k],
        strides: [node.stride, node.stride],
        pads: [p, p, p, p],
        dilations: [node.dilation, node.dilation],
        group: groups,
      }, { name: node.weight.replace(/\.weight$/, "") });
    }
    case "batchNorm": {
      const c = [node.channels];
      const names = ["weight", "bias", "running_mean", "running_var"].map((s) =>
        param(`${node.prefix}.${s}`, c)
      );
      return b.node("BatchNormalization", [v(node.input), ...names], {
        epsilon: { float: node.eps },
      }, { name: node.prefix });
    }
    case "relu":
      return b.node("Relu", [v(node.input)]);
    case "relu6": {
      const lo = constant(
        b,
        "const.zero",
        () => b.initializer("const.zero", [], new Float32Array([0])),
      );
      const hi = constant(
        b,
        "const.six",
        () => b.initializer("const.six", [], new Float32Array([6])),
      );
      return b.node("Clip", [v(node.input), lo, hi], {}, { name: "Relu6" });
    }
    case "hardSigmoid": // relu6(x + 3) / 6 = max(0, min(1, x/6 + 1/2))
      return b.node("HardSigmoid", [v(node.input)], {
        alpha: { float: 1 / 6 },
        beta: { float: 0.5 },
      });
    case "hardSwish":
      return b.node("HardSwish", [v(node.input)]);
    case "maxPool": {
      const { kernel: k, stride: s, padding: p } = node;
      return b.node("MaxPool", [v(node.input)], {
        kernel_shape: [k, k],
        strides: [s, s],
        pads: [p, p, p, p],
        ceil_mode: node.ceil ? 1 : 0,
      });
    }
    case "globalAvgPool":
      return b.node("GlobalAveragePool", [v(node.input)]);
    case "add":
      return b.node("Add", node.inputs.map(v));
    case "mul":
      return b.node("Mul", node.inputs.map(v));
    case "concat":
      return b.node("Concat", node.inputs.map(v), { axis: 1 });
    case "l2Norm": {
      // x · rsqrt(max(Σ_c x², 1e-24)) · weight[c], as the tfjs layer
      const x = v(node.input);
      const sumSq = b.node("ReduceSumSquare", [x], { axes: [1], keepdims: 1 }); // [B, 1, H, W]
      const eps = b.scalar("const.l2norm_eps", 1e-24, []);
      const inv = b.node("Reciprocal", [b.node("Sqrt", [b.node("Max", [sumSq, eps])])]);
      const shape = constant(
        b,
        "const.shape_1c11",
        () => b.int64("const.shape_1c11", [4], [1, -1, 1, 1]),
      );
      const w = b.node("Reshape", [param(node.weight, [node.channels]), shape]); // [1, C, 1, 1]
      return b.node("Mul", [b.node("Mul", [x, inv]), w], {}, { name: node.weight });
    }
    case "flattenHead": {
      // [B, A·K, H, W] → NHWC [B, H, W, A·K] → [B, H·W·A, K]; then concatenated on axis 1
      const k = node.columns;
      const shapeName = `const.shape_0_m1_${k}`;
      const shape = constant(b, shapeName, () => b.int64(shapeName, [3], [0, -1, k]));
      const flat = node.inputs.map((ref) =>
        b.node("Reshape", [b.node("Transpose", [v(ref)], { perm: [0, 2, 3, 1] }), shape])
      );
      return flat.length === 1 ? flat[0] : b.node("Concat", flat, { axis: 1 });
    }
  }
}

/**
 * Appends the network of `graph` to `b`, reading `input` (`[B, 3, H, W]` normalized images);
 * returns the names of the raw head outputs.
 *
 * @throws {RangeError} when the graph refers to a tensor the state dict lacks or has in
 * another shape, or node 0 is not the input.
 */
export function lowerNetwork(
  b: OnnxGraphBuilder,
  graph: NetworkGraph,
  sd: StateDict,
  input: string,
): NetworkOutputs {
  if (graph.nodes[0]?.op !== "input") {
    throw new RangeError(
      `Cannot export to ONNX: node 0 must be the input, got ${graph.nodes[0]?.op}`,
    );
  }
  const names: string[] = [input];
  const v = (ref: number) => {
    const name = names[ref];
    if (name === undefined) {
      throw new RangeError(
        `Cannot export to ONNX: node ${names.length} refers to node ${ref}, which does not come before it`,
      );
    }
    return name;
  };
  const initializer: ParamValue = (name, shape) => stateDictParam(b, sd, name, shape);
  for (let i = 1; i < graph.nodes.length; i++) {
    names.push(lowerNode(b, graph.nodes[i], v, initializer));
  }
  return { loc: v(graph.locPred), logits: v(graph.clsLogits) };
}
