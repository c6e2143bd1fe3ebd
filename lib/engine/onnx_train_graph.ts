/**
 * A training step as two ONNX graphs that onnxruntime runs as inference, so the convolutions
 * and their gradients run in onnxruntime's native kernels (MLAS, AVX-512 where the CPU has it)
 * instead of wasm:
 * - **forward**, training mode: `images [B, H, W, 3]` (NHWC, as the loader makes them) and the
 *   trainable parameters in, `loc` and `logits` out, plus what the backward pass needs (each
 *   conv's input, each ReLU's output, each BatchNorm's x̂ and 1/σ) and each BatchNorm's batch
 *   mean and biased variance (for the running statistics);
 * - **backward**: `d_loc`, `d_logits` (the loss's gradient with respect to the head outputs),
 *   the saved values and the parameters in, `grad.{name}` out for every trainable parameter.
 *
 * Gradients are written out per op: a conv's input gradient is a `ConvTranspose` of the output
 * gradient, its weight gradient a `Conv` of the input with the output gradient as the filter
 * (stride and dilation swapped; for depthwise, channels as groups); BatchNorm's is the batch
 * statistics formula; ReLU's a mask of its output. Supported ops: conv (plain and depthwise,
 * any stride, padding and dilation), batchNorm, relu, relu6, add, concat, flattenHead: what
 * `tiny`, UltraFace and VGG without its pooling use. Others are refused by name.
 *
 * @module
 */
import type { ConvNode, GraphNode, NetworkGraph, Ref } from "../model/graph_ir.ts";
import { graphShapes } from "../model/graph_shapes.ts";
import { floatValueInfo, onnx, OnnxGraphBuilder } from "../export/onnx_builder.ts";

const ONNX_OPSET = 17;
const IR_VERSION = 8;
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

/** The two graphs of a step and the names that join them. */
export interface TrainGraphs {
  /** Serialized forward model. */
  forward: Uint8Array;
  /** Serialized backward model. */
  backward: Uint8Array;
  /** Trainable parameters the graphs take as inputs, with their PyTorch shapes. */
  params: { name: string; shape: number[] }[];
  /** Values the forward graph outputs for the backward graph, by name. */
  saved: string[];
  /**
   * Per BatchNorm: its state-dict prefix, the forward outputs of its batch mean and biased
   * variance (`[1, C, 1, 1]`), and the values it averages per image (H·W).
   */
  batchNorms: { prefix: string; mean: string; variance: string; perImage: number }[];
}

/** A graph input or output; dims are fixed except the batch (`B`). */
type ValueInfo = ReturnType<typeof floatValueInfo>;

function encode(name: string, b: OnnxGraphBuilder, input: ValueInfo[], output: ValueInfo[]) {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "ssd",
    graph: { name, node: b.nodes, initializer: b.initializers, input, output },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** `[B, C, H, W]` of a node from its NHWC shape at batch 1. */
function nchw(shape: number[]): (number | string)[] {
  return shape.length === 4 ? ["B", shape[3], shape[1], shape[2]] : ["B", ...shape.slice(1)];
}

/**
 * Builds the forward and backward graphs of `graph`. `trainable` names the parameters that get
 * gradients (default: every trainable parameter of the graph); the others are still inputs.
 *
 * @throws {RangeError} for an op this lowering does not support.
 */
export function buildTrainGraphs(graph: NetworkGraph, trainable?: Set<string>): TrainGraphs {
  for (const node of graph.nodes) {
    if (!OPS.has(node.op)) {
      throw new RangeError(
        `Cannot train ${graph.arch} in onnxruntime: its graph has a ${node.op} node ` +
          `(supported: ${[...OPS].filter((o) => o !== "input").join(", ")})`,
      );
    }
  }
  const shapes = graphShapes(graph, 1);
  const spec = new Map(graph.params.map((p) => [p.name, p]));
  const wanted = trainable ??
    new Set(graph.params.filter((p) => p.trainable).map((p) => p.name));
  const fwd = new OnnxGraphBuilder();
  const fwdInputs: ValueInfo[] = [floatValueInfo("images", ["B", ...shapes[0].slice(1)])];
  const fwdOutputs: ValueInfo[] = [];
  const paramInputs = new Map<string, number[]>();
  const param = (b: OnnxGraphBuilder, inputs: ValueInfo[], name: string) => {
    if (!b.has(name)) {
      const shape = spec.get(name)?.torchShape;
      if (shape === undefined) throw new RangeError(`Cannot train: no parameter "${name}"`);
      b.fresh(name);
      inputs.push(floatValueInfo(name, shape));
      paramInputs.set(name, shape);
    }
    return name;
  };
  const saved = new Map<string, ValueInfo>();
  const save = (value: string, dims: (number | string)[]) => {
    if (!saved.has(value)) {
      const info = floatValueInfo(value, dims);
      saved.set(value, info);
      fwdOutputs.push(info);
    }
  };
  const perChannel = fwd.int64("const.shape_1c11", [4], [1, -1, 1, 1]);
  const batchNorms: TrainGraphs["batchNorms"] = [];
  const names: string[] = [fwd.node("Transpose", ["images"], { perm: [0, 3, 1, 2] }, {
    outputs: ["saved.input"],
  })];
  const v = (ref: Ref) => names[ref];
  const forwardNode = (node: GraphNode, i: number): string => {
    switch (node.op) {
      case "conv": {
        const inputs = [v(node.input), param(fwd, fwdInputs, node.weight)];
        if (node.bias) inputs.push(param(fwd, fwdInputs, node.bias));
        save(v(node.input), nchw(shapes[node.input]));
        return fwd.node("Conv", inputs, convAttrs(node));
      }
      case "batchNorm": {
        const x = v(node.input);
        const mean = fwd.node("ReduceMean", [x], { axes: [0, 2, 3], keepdims: 1 }, {
          outputs: [`${node.prefix}.batch_mean`],
        });
        const xc = fwd.node("Sub", [x, mean]);
        const variance = fwd.node("ReduceMean", [fwd.node("Mul", [xc, xc])], {
          axes: [0, 2, 3],
          keepdims: 1,
        }, { outputs: [`${node.prefix}.batch_var`] });
        const eps = fwd.scalar(`const.eps_${i}`, node.eps, []);
        const inv = fwd.node(
          "Reciprocal",
          [fwd.node("Sqrt", [fwd.node("Add", [variance, eps])])],
          {},
          {
            outputs: [`saved.${node.prefix}.inv_std`],
          },
        );
        const xhat = fwd.node("Mul", [xc, inv], {}, { outputs: [`saved.${node.prefix}.xhat`] });
        const c = node.channels;
        for (const s of [mean, variance, inv]) save(s, [1, c, 1, 1]);
        save(xhat, nchw(shapes[i]));
        const gamma = fwd.node("Reshape", [
          param(fwd, fwdInputs, `${node.prefix}.weight`),
          perChannel,
        ]);
        const beta = fwd.node("Reshape", [
          param(fwd, fwdInputs, `${node.prefix}.bias`),
          perChannel,
        ]);
        const [, h, w] = shapes[i];
        batchNorms.push({ prefix: node.prefix, mean, variance, perImage: h * w });
        return fwd.node("Add", [fwd.node("Mul", [xhat, gamma]), beta]);
      }
      case "relu": {
        const y = fwd.node("Relu", [v(node.input)]);
        save(y, nchw(shapes[i]));
        return y;
      }
      case "relu6": {
        const lo = fwd.scalar(`const.zero_${i}`, 0, []);
        const hi = fwd.scalar(`const.six_${i}`, 6, []);
        save(v(node.input), nchw(shapes[node.input]));
        return fwd.node("Clip", [v(node.input), lo, hi]);
      }
      case "add":
        return fwd.node("Add", node.inputs.map(v));
      case "concat":
        return fwd.node("Concat", node.inputs.map(v), { axis: 1 });
      case "flattenHead": {
        const k = node.columns;
        const shape = fwd.int64(`const.flat_${i}`, [3], [0, -1, k]);
        const flat = node.inputs.map((r) =>
          fwd.node("Reshape", [fwd.node("Transpose", [v(r)], { perm: [0, 2, 3, 1] }), shape])
        );
        return flat.length === 1 ? flat[0] : fwd.node("Concat", flat, { axis: 1 });
      }
      default:
        throw new RangeError(`unreachable: ${node.op}`);
    }
  };
  for (let i = 1; i < graph.nodes.length; i++) names.push(forwardNode(graph.nodes[i], i));
  const headOut = (ref: Ref, name: string) => {
    const out = fwd.node("Identity", [v(ref)], {}, { outputs: [name] });
    fwdOutputs.unshift(floatValueInfo(out, nchw(shapes[ref])));
    return out;
  };
  headOut(graph.clsLogits, "logits");
  headOut(graph.locPred, "loc");
  const forward = encode(`${graph.arch}_train_forward`, fwd, fwdInputs, fwdOutputs);

  // ------------------------------------------------------------------ backward
  const bwd = new OnnxGraphBuilder();
  const bwdInputs: ValueInfo[] = [];
  const bwdOutputs: ValueInfo[] = [];
  for (const [name, info] of saved) {
    bwd.fresh(name);
    bwdInputs.push(info);
  }
  const input = (name: string, dims: (number | string)[]) => {
    bwd.fresh(name);
    bwdInputs.push(floatValueInfo(name, dims));
    return name;
  };
  const grads = new Map<Ref, string[]>();
  const add = (ref: Ref, g: string) => grads.set(ref, [...(grads.get(ref) ?? []), g]);
  add(graph.locPred, input("d_loc", nchw(shapes[graph.locPred])));
  add(graph.clsLogits, input("d_logits", nchw(shapes[graph.clsLogits])));
  const axes = bwd.int64("const.axes_023", [3], [0, 2, 3]);
  const shape1c11 = bwd.int64("const.shape_1c11", [4], [1, -1, 1, 1]);
  const zero = bwd.scalar("const.zero", 0, []);
  const bparam = (name: string) => param(bwd, bwdInputs, name);
  const gradOut = (name: string, value: string) => {
    const out = bwd.node("Identity", [value], {}, { outputs: [`grad.${name}`] });
    bwdOutputs.push(floatValueInfo(out, spec.get(name)!.torchShape));
  };
  const sumAxes = (x: string) => bwd.node("ReduceSum", [x, axes], { keepdims: 0 });
  const meanAxes = (x: string) => bwd.node("ReduceMean", [x], { axes: [0, 2, 3], keepdims: 1 });
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
          add(
            r,
            bwd.node("Transpose", [bwd.node("Reshape", [pieces[j], shape])], {
              perm: [0, 3, 1, 2],
            }),
          );
        });
        break;
      }
      case "concat": {
        const pieces = split(bwd, g, node.inputs.map((r) => shapes[r][3]), `concat_${i}`);
        node.inputs.forEach((r, j) => add(r, pieces[j]));
        break;
      }
      case "add":
        node.inputs.forEach((r) => add(r, g));
        break;
      case "relu":
        add(node.input, bwd.node("Where", [bwd.node("Greater", [names[i], zero]), g, zero]));
        break;
      case "relu6": {
        const x = names[node.input];
        const six = bwd.scalar(`const.six_${i}`, 6, []);
        const inside = bwd.node("And", [
          bwd.node("Greater", [x, zero]),
          bwd.node("Less", [x, six]),
        ]);
        add(node.input, bwd.node("Where", [inside, g, zero]));
        break;
      }
      case "batchNorm": {
        const xhat = `saved.${node.prefix}.xhat`;
        const inv = `saved.${node.prefix}.inv_std`;
        const [wName, bName] = [`${node.prefix}.weight`, `${node.prefix}.bias`];
        if (wanted.has(bName)) gradOut(bName, sumAxes(g));
        if (wanted.has(wName)) gradOut(wName, sumAxes(bwd.node("Mul", [g, xhat])));
        const gamma = bwd.node("Reshape", [bparam(wName), shape1c11]);
        const dxhat = bwd.node("Mul", [g, gamma]);
        const centred = bwd.node("Sub", [dxhat, meanAxes(dxhat)]);
        const along = bwd.node("Mul", [xhat, meanAxes(bwd.node("Mul", [dxhat, xhat]))]);
        add(node.input, bwd.node("Mul", [inv, bwd.node("Sub", [centred, along])]));
        break;
      }
      case "conv":
        convBackward(bwd, node, g, names[node.input], shapes[node.input], shapes[i], {
          weight: bparam,
          wanted,
          gradOut,
          sumAxes,
          addInput: node.input === 0 ? undefined : (dx) => add(node.input, dx),
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
  const backward = encode(`${graph.arch}_train_backward`, bwd, bwdInputs, bwdOutputs);
  return {
    forward,
    backward,
    params: [...paramInputs].map(([name, shape]) => ({ name, shape })),
    saved: [...saved.keys()],
    batchNorms,
  };
}

function convAttrs(node: ConvNode) {
  const { kernel: k, stride: s, padding: p, dilation: d } = node;
  return {
    kernel_shape: [k, k],
    strides: [s, s],
    pads: [p, p, p, p],
    dilations: [d, d],
    group: node.depthwise ? node.inChannels : 1,
  };
}

function split(b: OnnxGraphBuilder, x: string, sizes: number[], hint: string): string[] {
  const outputs = sizes.map((_, j) => `${hint}_part${j}`);
  const s = b.int64(`const.${hint}_sizes`, [sizes.length], sizes);
  b.node("Split", [x, s], { axis: 1 }, { outputs });
  const node = b.nodes[b.nodes.length - 1];
  return node.output as string[];
}

/** The gradients of one conv: input (ConvTranspose), weight (a conv of x by dy), bias. */
function convBackward(
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
    sumAxes: (x: string) => string;
    addInput?: (dx: string) => void;
  },
) {
  const { kernel: k, stride: s, padding: p, dilation: d, inChannels: cin, outChannels: cout } =
    node;
  const [, h, w] = inShape;
  const [, ho, wo] = outShape;
  const groups = node.depthwise ? cin : 1;
  if (node.bias && io.wanted.has(node.bias)) io.gradOut(node.bias, io.sumAxes(dy));
  if (io.wanted.has(node.weight)) {
    // dW[o, i, a, c] = Σ_b,y,x dy[b, o, y, x] · xpad[b, i, y·s + a·d, x·s + c·d]: a conv of x
    // (batch and channels swapped) with dy as the filter, stride d and dilation s
    const xt = b.node("Transpose", [x], { perm: [1, 0, 2, 3] }); // [Cin, B, H, W]
    const dyt = b.node("Transpose", [dy], { perm: [1, 0, 2, 3] }); // [Cout, B, Ho, Wo]
    const input = node.depthwise
      ? b.node("Reshape", [xt, b.int64("const.dw_in", [4], [1, -1, h, w])]) // [1, C·B, H, W]
      : xt;
    const full = b.node("Conv", [input, dyt], {
      kernel_shape: [ho, wo],
      strides: [d, d],
      pads: [p, p, p, p],
      dilations: [s, s],
      group: groups,
    }); // [Cin, Cout, k', k'] or [1, C, k', k'] with k' ≥ k
    const starts = b.int64("const.zeros2", [2], [0, 0]);
    const ends = b.int64(`const.k${k}`, [2], [k, k]);
    const hw = b.int64("const.axes23", [2], [2, 3]);
    const cut = b.node("Slice", [full, starts, ends, hw]);
    const dw = node.depthwise
      ? b.node("Reshape", [cut, b.int64("const.dw_shape", [4], [cout, 1, k, k])])
      : b.node("Transpose", [cut], { perm: [1, 0, 2, 3] });
    io.gradOut(node.weight, dw);
  }
  if (io.addInput) {
    const span = (n: number) => (n - 1) * s - 2 * p + d * (k - 1) + 1;
    io.addInput(b.node("ConvTranspose", [dy, io.weight(node.weight)], {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [p, p, p, p],
      dilations: [d, d],
      group: groups,
      output_padding: [h - span(ho), w - span(wo)],
    }));
  }
}
