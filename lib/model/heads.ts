/**
 * SSD prediction heads: one conv per source map for the class scores ((C)·A filters) and one
 * for the box offsets (4·A filters), flattened in prior order (layer, row, column, anchor).
 *
 * torchvision views a head output `[B, A·K, H, W]` as `[B, A, K, H, W]`, permutes it to
 * `[B, H, W, A, K]` and reshapes to `[B, H·W·A, K]`; in NHWC the same order is a plain reshape
 * of `[B, H, W, A·K]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { flattenHead } from "./heads.ts";
 * await tf.setBackend("cpu");
 * // One 1×2 map, A = 2 anchors, K = 2 columns: channels (a0k0, a0k1, a1k0, a1k1) per cell.
 * const y = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7], [1, 1, 2, 4]);
 * const flat = flattenHead([y], 2);
 * assert.deepEqual(flat.shape, [1, 4, 2]);
 * assert.deepEqual(Array.from(flat.dataSync()), [0, 1, 2, 3, 4, 5, 6, 7]);
 * tf.dispose([y, flat]);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchNorm, conv2d, type Layer, relu6, sequential } from "./layers.ts";
import type { Init, ParamStore } from "./params.ts";

/** Raw head outputs in prior order. */
export interface HeadOutputs {
  /** `[B, P, 4]` offsets (dx, dy, dw, dh) against the priors, before variances. */
  locPred: tf.Tensor3D;
  /** `[B, P, C]` class logits, background at 0. */
  clsLogits: tf.Tensor3D;
}

/** Per-level head outputs `[B, H, W, A·K]` → `[B, Σ H·W·A, K]`. */
export function flattenHead(outputs: tf.Tensor4D[], columns: number): tf.Tensor3D {
  const flat = outputs.map((y) => tf.reshape(y, [y.shape[0], -1, columns]) as tf.Tensor3D);
  return flat.length === 1 ? flat[0] : tf.concat(flat, 1);
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

/** A whole network: normalized NHWC images → source maps (to check their sizes) and raw outputs. */
export type Network = (
  x: tf.Tensor4D,
  training: boolean,
) => HeadOutputs & { sources: tf.Tensor4D[] };

/** A head: source maps → raw outputs. */
export type Head = (maps: tf.Tensor4D[], training: boolean) => HeadOutputs;

/** Applies per-level classification and regression layers and flattens them. */
export function composeHead(cls: Layer[], reg: Layer[], numClasses: number): Head {
  return (maps, training) => ({
    locPred: flattenHead(maps.map((m, i) => reg[i](m, training)), 4),
    clsLogits: flattenHead(maps.map((m, i) => cls[i](m, training)), numClasses),
  });
}

/**
 * torchvision `SSDHead`: a 3×3 conv (padding 1, bias) per map,
 * `head.classification_head.module_list.{i}` and `head.regression_head.module_list.{i}`,
 * xavier-uniform weights and zero biases.
 */
export function ssdHead(store: ParamStore, spec: HeadSpec): Head {
  const init: Init = { kind: "xavierUniform" };
  const build = (prefix: string, columns: number) =>
    spec.inChannels.map((ch, i) =>
      conv2d(store, `${prefix}.module_list.${i}`, {
        inChannels: ch,
        outChannels: columns * spec.anchors[i],
        kernel: 3,
        padding: 1,
        init,
      })
    );
  const cls = build("head.classification_head", spec.numClasses);
  const reg = build("head.regression_head", 4);
  return composeHead(cls, reg, spec.numClasses);
}

/**
 * torchvision `SSDLiteHead`: per map, a depthwise 3×3 conv + BatchNorm + ReLU6
 * (`module_list.{i}.0.{0,1}`) then a 1×1 conv with bias (`module_list.{i}.1`); weights
 * N(0, 0.03).
 */
export function ssdliteHead(store: ParamStore, spec: HeadSpec & { eps: number }): Head {
  const init: Init = { kind: "normal", std: 0.03 };
  const build = (prefix: string, columns: number) =>
    spec.inChannels.map((ch, i) => {
      const p = `${prefix}.module_list.${i}`;
      return sequential(
        conv2d(store, `${p}.0.0`, {
          inChannels: ch,
          outChannels: ch,
          kernel: 3,
          padding: 1,
          depthwise: true,
          bias: false,
          init,
        }),
        batchNorm(store, `${p}.0.1`, { channels: ch, eps: spec.eps, momentum: 0.03 }),
        relu6,
        conv2d(store, `${p}.1`, {
          inChannels: ch,
          outChannels: columns * spec.anchors[i],
          kernel: 1,
          init,
        }),
      );
    });
  const cls = build("head.classification_head", spec.numClasses);
  const reg = build("head.regression_head", 4);
  return composeHead(cls, reg, spec.numClasses);
}
