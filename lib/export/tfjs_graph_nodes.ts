/**
 * The layers of a {@linkcode NetworkGraph} as TensorFlow ops (NHWC, float32), PyTorch semantics
 * kept exactly:
 *
 * | IR | TF ops |
 * | --- | --- |
 * | conv | `Conv2D` / `DepthwiseConv2dNative` with `EXPLICIT` padding, dilations; `BiasAdd` |
 * | batchNorm | `FusedBatchNormV3` on the running statistics (inference) |
 * | relu, relu6 | `Relu`, `Relu6` |
 * | hardSigmoid, hardSwish | `AddV2` 3, `Relu6`, `RealDiv` 6 (, `Mul` x) |
 * | maxPool | `PadV2` with the lowest float32 (padding and `ceil_mode`'s extra row/column), `MaxPool` VALID |
 * | globalAvgPool | `Mean` over H, W, keep dims |
 * | add, mul, concat | `AddV2`, `Mul`, `ConcatV2` on channels |
 * | l2Norm | `Square`, `Sum`, `Maximum` 1e-24, `Rsqrt`, `Mul`, `Mul` weight |
 * | flattenHead | `Reshape` to `[-1, H·W·A, K]` each, `ConcatV2` on axis 1 |
 *
 * Weights are `Const` nodes named by their PyTorch state-dict names, convs in HWIO
 * (depthwise `[kH, kW, C, 1]`).
 *
 * @module
 */
import type { StateDict } from "../io/state_dict.ts";
import type { ConvNode, GraphNode, NetworkGraph } from "../model/graph_ir.ts";
import { graphShapes } from "../model/graph_shapes.ts";
import { float32Values } from "../model/state_dict_convert.ts";
import { GraphDefBuilder } from "./tfjs_graphdef.ts";

/** TF_LOWEST of float32: the pad value that never wins a max. */
const LOWEST_F32 = -3.4028234663852886e38;

const F = GraphDefBuilder.float;
const ints = GraphDefBuilder.ints;
const str = GraphDefBuilder.str;

/** OIHW → HWIO, or depthwise `[C, 1, kH, kW]` → `[kH, kW, C, 1]`, of a row-major array. */
function toTfjsLayout(
  values: Float32Array,
  torchShape: number[],
  depthwise: boolean,
): Float32Array {
  const [o, i, kh, kw] = torchShape;
  const out = new Float32Array(values.length);
  // destination [kh, kw, a, b] with (a, b) = (i, o), or (o, 1) for depthwise
  const [da, db] = depthwise ? [o, 1] : [i, o];
  for (let oo = 0; oo < o; oo++) {
    for (let ii = 0; ii < i; ii++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const [a, b] = depthwise ? [oo, 0] : [ii, oo];
          out[((y * kw + x) * da + a) * db + b] = values[((oo * i + ii) * kh + y) * kw + x];
        }
      }
    }
  }
  return out;
}

/**
 * The TensorFlow graph of `graph` with the weights of `sd`: a `Placeholder` `images`
 * `[-1, H, W, 3]`, the layers, and two `Identity` outputs `loc` and `logits`.
 *
 * @throws {RangeError} for a parameter missing from the state dict or an inconsistent graph
 * @throws {TypeError} for a parameter of the wrong shape
 */
export function networkGraphDef(graph: NetworkGraph, sd: StateDict): GraphDefBuilder {
  const g = new GraphDefBuilder();
  const shapes = graphShapes(graph, 1);
  const weight = (name: string, shape: number[]): Float32Array => {
    const t = sd.get(name);
    if (t === undefined) {
      throw new RangeError(`Cannot export ${graph.arch}: the state dict has no "${name}"`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw new TypeError(
        `Cannot export ${graph.arch}: "${name}" must have shape [${shape}], got [${t.shape}]`,
      );
    }
    return float32Values(t);
  };
  const scalar = (() => {
    const made = new Map<number, string>();
    return (v: number) => {
      if (!made.has(v)) {
        made.set(v, g.constF32(g.unique(`const/scalar${made.size}`), [], Float32Array.of(v)));
      }
      return made.get(v)!;
    };
  })();
  const axis = (name: string, values: number[]) =>
    g.constI32(g.unique(name), [values.length], values);
  const names: string[] = [];
  const emit = (i: number, node: GraphNode): string => {
    const x = (r: number) => names[r];
    const base = (op: string) => g.unique(`n${i}/${op}`);
    switch (node.op) {
      case "input":
        return g.placeholder("images", [-1, ...graph.imageSize, 3]);
      case "conv":
        return emitConv(g, node, x(node.input), weight);
      case "batchNorm": {
        const p = node.prefix;
        const c = [node.channels];
        const inputs = [x(node.input)];
        for (const k of ["weight", "bias", "running_mean", "running_var"]) {
          inputs.push(g.constF32(`${p}.${k}`, c, weight(`${p}.${k}`, c)));
        }
        return g.node(g.unique(`${p}/FusedBatchNormV3`), "FusedBatchNormV3", inputs, {
          T: F(),
          U: F(),
          epsilon: { f: node.eps },
          data_format: str("NHWC"),
          is_training: { b: false },
        });
      }
      case "relu":
        return g.node(base("Relu"), "Relu", [x(node.input)], { T: F() });
      case "relu6":
        return g.node(base("Relu6"), "Relu6", [x(node.input)], { T: F() });
      case "hardSigmoid":
      case "hardSwish": {
        const shifted = g.node(base("add3"), "AddV2", [x(node.input), scalar(3)], { T: F() });
        const clipped = g.node(base("Relu6"), "Relu6", [shifted], { T: F() });
        const gate = g.node(base("div6"), "RealDiv", [clipped, scalar(6)], { T: F() });
        if (node.op === "hardSigmoid") return gate;
        return g.node(base("Mul"), "Mul", [x(node.input), gate], { T: F() });
      }
      case "maxPool": {
        const [, h, w] = shapes[node.input];
        const [, oh, ow] = shapes[i];
        const after = (size: number, out: number) =>
          Math.max(0, (out - 1) * node.stride + node.kernel - size - node.padding);
        const pads = [0, 0, node.padding, after(h, oh), node.padding, after(w, ow), 0, 0];
        let input = x(node.input);
        if (pads.some((p) => p > 0)) {
          const paddings = g.constI32(g.unique(`n${i}/paddings`), [4, 2], pads);
          input = g.node(base("PadV2"), "PadV2", [input, paddings, scalar(LOWEST_F32)], {
            T: F(),
            Tpaddings: GraphDefBuilder.int32(),
          });
        }
        return g.node(base("MaxPool"), "MaxPool", [input], {
          T: F(),
          ksize: ints([1, node.kernel, node.kernel, 1]),
          strides: ints([1, node.stride, node.stride, 1]),
          padding: str("VALID"),
          data_format: str("NHWC"),
        });
      }
      case "globalAvgPool":
        return g.node(base("Mean"), "Mean", [x(node.input), axis(`n${i}/axes`, [1, 2])], {
          T: F(),
          Tidx: GraphDefBuilder.int32(),
          keep_dims: { b: true },
        });
      case "add":
        return g.node(base("AddV2"), "AddV2", node.inputs.map(x), { T: F() });
      case "mul":
        return g.node(base("Mul"), "Mul", node.inputs.map(x), { T: F() });
      case "concat":
        return concat(g, base("ConcatV2"), node.inputs.map(x), axis(`n${i}/axis`, [3]));
      case "l2Norm": {
        const c = node.channels;
        const sq = g.node(base("Square"), "Square", [x(node.input)], { T: F() });
        const sum = g.node(base("Sum"), "Sum", [sq, axis(`n${i}/axes`, [3])], {
          T: F(),
          Tidx: GraphDefBuilder.int32(),
          keep_dims: { b: true },
        });
        const safe = g.node(base("Maximum"), "Maximum", [sum, scalar(1e-24)], { T: F() });
        const inv = g.node(base("Rsqrt"), "Rsqrt", [safe], { T: F() });
        const unit = g.node(base("Mul"), "Mul", [x(node.input), inv], { T: F() });
        const scale = g.constF32(node.weight, [c], weight(node.weight, [c]));
        return g.node(base("scale"), "Mul", [unit, scale], { T: F() });
      }
      case "flattenHead": {
        const flat = node.inputs.map((r, k) => {
          const [, h, w, c] = shapes[r];
          const target = [-1, h * w * c / node.columns, node.columns];
          const shape = g.constI32(g.unique(`n${i}/shape${k}`), [3], target);
          return g.node(g.unique(`n${i}/Reshape${k}`), "Reshape", [x(r), shape], {
            T: F(),
            Tshape: GraphDefBuilder.int32(),
          });
        });
        if (flat.length === 1) return flat[0];
        return concat(g, base("ConcatV2"), flat, axis(`n${i}/axis`, [1]));
      }
    }
  };
  graph.nodes.forEach((node, i) => names.push(emit(i, node)));
  g.node("loc", "Identity", [names[graph.locPred]], { T: F() });
  g.node("logits", "Identity", [names[graph.clsLogits]], { T: F() });
  return g;
}

function concat(g: GraphDefBuilder, name: string, inputs: string[], axis: string): string {
  return g.node(name, "ConcatV2", [...inputs, axis], {
    T: F(),
    N: { i: String(inputs.length) },
    Tidx: GraphDefBuilder.int32(),
  });
}

function emitConv(
  g: GraphDefBuilder,
  node: ConvNode,
  input: string,
  weight: (name: string, shape: number[]) => Float32Array,
): string {
  const prefix = node.weight.replace(/\.weight$/, "");
  const k = node.kernel;
  const torchShape = node.depthwise
    ? [node.outChannels, 1, k, k]
    : [node.outChannels, node.inChannels, k, k];
  if (node.depthwise && node.inChannels !== node.outChannels) {
    throw new RangeError(
      `Cannot export conv "${node.weight}": depthwise needs in = out channels, got ${node.inChannels} → ${node.outChannels}`,
    );
  }
  const hwio = toTfjsLayout(weight(node.weight, torchShape), torchShape, node.depthwise);
  const tfShape = node.depthwise
    ? [k, k, node.outChannels, 1]
    : [k, k, node.inChannels, node.outChannels];
  const filter = g.constF32(node.weight, tfShape, hwio);
  const p = node.padding;
  const op = node.depthwise ? "DepthwiseConv2dNative" : "Conv2D";
  let out = g.node(g.unique(`${prefix}/${op}`), op, [input, filter], {
    T: F(),
    strides: ints([1, node.stride, node.stride, 1]),
    padding: str(p > 0 ? "EXPLICIT" : "VALID"),
    explicit_paddings: ints(p > 0 ? [0, 0, p, p, p, p, 0, 0] : []),
    dilations: ints([1, node.dilation, node.dilation, 1]),
    data_format: str("NHWC"),
  });
  if (node.bias !== undefined) {
    const bias = g.constF32(node.bias, [node.outChannels], weight(node.bias, [node.outChannels]));
    out = g.node(g.unique(`${prefix}/BiasAdd`), "BiasAdd", [out, bias], {
      T: F(),
      data_format: str("NHWC"),
    });
  }
  return out;
}
