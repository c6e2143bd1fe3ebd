/**
 * Layers with PyTorch semantics, described as graph nodes: conv with symmetric padding,
 * BatchNorm with running statistics, L2Norm, depthwise convs, hard-swish,
 * squeeze-and-excitation, max pooling.
 *
 * A layer helper declares its parameters in a {@linkcode GraphBuilder} under PyTorch names
 * when it is made, and returns a {@linkcode Layer} that appends its nodes when applied to a
 * {@linkcode Ref}. `run_graph.ts` gives the nodes their numerics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./graph.ts";
 * import { conv2d } from "./layers.ts";
 * const g = new GraphBuilder();
 * // Conv2d(3, 4, kernel_size=3, stride=2, padding=1)
 * const conv = conv2d(g, "c", { inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1 });
 * const y = conv(g.input);
 * const graph = g.finish({ arch: "demo", imageSize: [8, 8], sources: [y], locPred: y, clsLogits: y });
 * assert.deepEqual(graph.params.map((p) => [p.name, p.torchShape]), [
 *   ["c.weight", [4, 3, 3, 3]],
 *   ["c.bias", [4]],
 * ]);
 * assert.deepEqual(graph.nodes[y], {
 *   op: "conv", input: 0, weight: "c.weight", bias: "c.bias", inChannels: 3, outChannels: 4,
 *   kernel: 3, stride: 2, padding: 1, dilation: 1, depthwise: false,
 * });
 * ```
 *
 * @module
 */
import type { ActivationNode, Ref } from "./graph_ir.ts";
import type { GraphBuilder } from "./graph.ts";
import type { Init } from "./params.ts";

/** A network piece: the ref of its input → the ref of its output. */
export type Layer = (x: Ref) => Ref;

/** `nn.Conv2d` arguments (square kernels). */
export interface ConvSpec {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  /** Zero padding on every side, PyTorch style. Default 0. */
  padding?: number;
  dilation?: number;
  /** `groups = inChannels = outChannels`: a depthwise conv. */
  depthwise?: boolean;
  /** Default true, as nn.Conv2d. */
  bias?: boolean;
  /** Weight init; default PyTorch's own (kaiming_uniform a=√5). */
  init?: Init;
}

/**
 * `nn.Conv2d` as `{name}.weight` (+ `{name}.bias`). Input `[B, H, W, inChannels]`, output
 * `[B, H', W', outChannels]` with H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1.
 *
 * @throws {RangeError} for a depthwise conv whose in and out channels differ.
 */
export function conv2d(g: GraphBuilder, name: string, spec: ConvSpec): Layer {
  const { inChannels, outChannels, kernel } = spec;
  const depthwise = spec.depthwise ?? false;
  if (depthwise && inChannels !== outChannels) {
    throw new RangeError(
      `Cannot build depthwise conv ${name}: in and out channels must match, got ${inChannels} and ${outChannels}`,
    );
  }
  const init = spec.init ?? { kind: "torchDefault" };
  const torchShape = [outChannels, depthwise ? 1 : inChannels, kernel, kernel];
  const weight = g.param(`${name}.weight`, torchShape, {
    layout: depthwise ? "depthwise" : "conv",
    init,
  });
  let bias: string | undefined;
  if (spec.bias ?? true) {
    // nn.Conv2d's default bias is U(±1/√fanIn); torchvision's inits set it to 0.
    const biasInit: Init = init.kind === "torchDefault"
      ? { kind: "uniform", bound: 1 / Math.sqrt(torchShape[1] * kernel * kernel) }
      : { kind: "constant", value: 0 };
    bias = g.param(`${name}.bias`, [outChannels], { init: biasInit });
  }
  const geometry = {
    inChannels,
    outChannels,
    kernel,
    stride: spec.stride ?? 1,
    padding: spec.padding ?? 0,
    dilation: spec.dilation ?? 1,
    depthwise,
  };
  return (input) => g.node({ op: "conv", input, weight, ...(bias ? { bias } : {}), ...geometry });
}

/**
 * `nn.BatchNorm2d` as `{name}.{weight,bias,running_mean,running_var,num_batches_tracked}`
 * (affine 1 and 0, running statistics 0 and 1). PyTorch defaults: eps 1e-5, momentum 0.1.
 */
export function batchNorm(
  g: GraphBuilder,
  name: string,
  opts: { channels: number; eps?: number; momentum?: number },
): Layer {
  const { channels } = opts;
  g.param(`${name}.weight`, [channels], { init: { kind: "constant", value: 1 } });
  g.param(`${name}.bias`, [channels], { init: { kind: "constant", value: 0 } });
  for (const [stat, value] of [["running_mean", 0], ["running_var", 1]] as const) {
    g.param(`${name}.${stat}`, [channels], {
      init: { kind: "constant", value },
      trainable: false,
    });
  }
  g.counter(`${name}.num_batches_tracked`);
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  return (input) => g.node({ op: "batchNorm", input, prefix: name, channels, eps, momentum });
}

/**
 * torchvision SSD's conv4_3 rescaling (`scale_weight.view(1,-1,1,1) * F.normalize(x, dim=1)`)
 * with a learnable per-channel scale initialised to `scale` (20 in the SSD paper, ParseNet).
 * Parameter: `name` itself (`backbone.scale_weight`).
 */
export function l2Norm(
  g: GraphBuilder,
  name: string,
  opts: { channels: number; scale?: number },
): Layer {
  const { channels } = opts;
  const weight = g.param(name, [channels], {
    init: { kind: "constant", value: opts.scale ?? 20 },
  });
  return (input) => g.node({ op: "l2Norm", input, weight, channels });
}

/** An element-wise activation (`relu`, `relu6`, `hardSigmoid`, `hardSwish`) as a layer. */
export function activation(g: GraphBuilder, op: ActivationNode["op"]): Layer {
  return (input) => g.node({ op, input });
}

/**
 * `nn.MaxPool2d(kernel, stride, padding, ceil_mode)`; `ceil` = `ceil_mode=True` (the last
 * window may hang over the bottom and right edge, the overhang ignored).
 */
export function maxPool(
  g: GraphBuilder,
  opts: { kernel: number; stride: number; padding?: number; ceil?: boolean },
): Layer {
  const { kernel, stride } = opts;
  const padding = opts.padding ?? 0;
  const ceil = opts.ceil ?? false;
  return (input) => g.node({ op: "maxPool", input, kernel, stride, padding, ceil });
}

/**
 * torchvision `SqueezeExcitation` with hard-sigmoid gate (MobileNetV3): global average pool,
 * `{name}.fc1` 1×1 conv + ReLU, `{name}.fc2` 1×1 conv + hard-sigmoid, times the input.
 */
export function squeezeExcite(
  g: GraphBuilder,
  name: string,
  opts: { channels: number; squeeze: number; init?: Init },
): Layer {
  const { channels, squeeze, init } = opts;
  const fc1 = conv2d(g, `${name}.fc1`, {
    inChannels: channels,
    outChannels: squeeze,
    kernel: 1,
    init,
  });
  const fc2 = conv2d(g, `${name}.fc2`, {
    inChannels: squeeze,
    outChannels: channels,
    kernel: 1,
    init,
  });
  const gate = sequential(fc1, activation(g, "relu"), fc2, activation(g, "hardSigmoid"));
  return (x) => {
    const pooled = g.node({ op: "globalAvgPool", input: x }); // [B, 1, 1, C]
    return g.node({ op: "mul", inputs: [x, gate(pooled)] });
  };
}

/** Applies layers one after another. */
export function sequential(...layers: Layer[]): Layer {
  return (x) => layers.reduce((h, layer) => layer(h), x);
}
