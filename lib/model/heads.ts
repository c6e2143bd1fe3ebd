/**
 * SSD prediction heads: one conv per source map for the class scores ((C)·A filters) and one
 * for the box offsets (4·A filters), flattened in prior order (layer, row, column, anchor) by a
 * `flattenHead` node.
 *
 * torchvision views a head output `[B, A·K, H, W]` as `[B, A, K, H, W]`, permutes it to
 * `[B, H, W, A, K]` and reshapes to `[B, H·W·A, K]`; in NHWC the same order is a plain reshape
 * of `[B, H, W, A·K]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./graph.ts";
 * import { ssdHead } from "./heads.ts";
 * const g = new GraphBuilder();
 * const head = ssdHead(g, { inChannels: [3], anchors: [2], numClasses: 5 });
 * const { locPred, clsLogits } = head([g.input]);
 * const graph = g.finish({ arch: "demo", imageSize: [4, 4], sources: [g.input], locPred, clsLogits });
 * assert.deepEqual(graph.params.map((p) => p.name), [
 *   "head.classification_head.module_list.0.weight",
 *   "head.classification_head.module_list.0.bias",
 *   "head.regression_head.module_list.0.weight",
 *   "head.regression_head.module_list.0.bias",
 * ]);
 * assert.deepEqual(graph.nodes[clsLogits], { op: "flattenHead", inputs: [3], columns: 5 });
 * ```
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Ref } from "./graph_ir.ts";
import type { GraphBuilder } from "./graph.ts";
import { activation, batchNorm, conv2d, type Layer, sequential } from "./layers.ts";
import type { Init } from "./params.ts";

/** Raw head outputs in prior order. */
export interface HeadOutputs {
  /** `[B, P, 4]` offsets (dx, dy, dw, dh) against the priors, before variances. */
  locPred: tf.Tensor3D;
  /** `[B, P, C]` class logits, background at 0. */
  clsLogits: tf.Tensor3D;
}

/** What a head needs to know about its inputs. */
export interface HeadSpec {
  /** Channels of each source map. */
  inChannels: number[];
  /** Default boxes per cell of each source map. */
  anchors: number[];
  /** C, background included. */
  numClasses: number;
}

/** A head: source maps → the refs of `[B, P, 4]` offsets and `[B, P, C]` logits. */
export type Head = (maps: Ref[]) => { locPred: Ref; clsLogits: Ref };

/**
 * Applies per-level classification and regression layers and flattens them (regression
 * first, as torchvision's `SSDHead.forward` runs them).
 */
export function composeHead(
  g: GraphBuilder,
  layers: { cls: Layer[]; reg: Layer[] },
  numClasses: number,
): Head {
  const { cls, reg } = layers;
  return (maps) => {
    if (maps.length !== cls.length || maps.length !== reg.length) {
      throw new RangeError(
        `Cannot apply head: expected ${cls.length} source maps, got ${maps.length}`,
      );
    }
    const locPred = g.node({
      op: "flattenHead",
      inputs: maps.map((m, i) => reg[i](m)),
      columns: 4,
    });
    const clsLogits = g.node({
      op: "flattenHead",
      inputs: maps.map((m, i) => cls[i](m)),
      columns: numClasses,
    });
    return { locPred, clsLogits };
  };
}

/**
 * torchvision `SSDHead`: a 3×3 conv (padding 1, bias) per map,
 * `head.classification_head.module_list.{i}` and `head.regression_head.module_list.{i}`,
 * xavier-uniform weights and zero biases.
 */
export function ssdHead(g: GraphBuilder, spec: HeadSpec): Head {
  const init: Init = { kind: "xavierUniform" };
  const build = (prefix: string, columns: number) =>
    spec.inChannels.map((ch, i) =>
      conv2d(g, `${prefix}.module_list.${i}`, {
        inChannels: ch,
        outChannels: columns * spec.anchors[i],
        kernel: 3,
        padding: 1,
        init,
      })
    );
  const cls = build("head.classification_head", spec.numClasses);
  const reg = build("head.regression_head", 4);
  return composeHead(g, { cls, reg }, spec.numClasses);
}

/**
 * torchvision `SSDLiteHead`: per map, a depthwise 3×3 conv + BatchNorm + ReLU6
 * (`module_list.{i}.0.{0,1}`) then a 1×1 conv with bias (`module_list.{i}.1`); weights
 * N(0, 0.03).
 */
export function ssdliteHead(g: GraphBuilder, spec: HeadSpec & { eps: number }): Head {
  const init: Init = { kind: "normal", std: 0.03 };
  const build = (prefix: string, columns: number) =>
    spec.inChannels.map((ch, i) => {
      const p = `${prefix}.module_list.${i}`;
      return sequential(
        conv2d(g, `${p}.0.0`, {
          inChannels: ch,
          outChannels: ch,
          kernel: 3,
          padding: 1,
          depthwise: true,
          bias: false,
          init,
        }),
        batchNorm(g, `${p}.0.1`, { channels: ch, eps: spec.eps, momentum: 0.03 }),
        activation(g, "relu6"),
        conv2d(g, `${p}.1`, {
          inChannels: ch,
          outChannels: columns * spec.anchors[i],
          kernel: 1,
          init,
        }),
      );
    });
  const cls = build("head.classification_head", spec.numClasses);
  const reg = build("head.regression_head", 4);
  return composeHead(g, { cls, reg }, spec.numClasses);
}
