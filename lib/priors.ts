/**
 * Default boxes (priors) of a model config, in the order the heads predict them: layer, row,
 * column, anchor. Center form `cxcywh`, normalized to the network input.
 *
 * Values are computed in float64 and stored as float32, which reproduces torchvision's
 * `DefaultBoxGenerator` and UltraFace's `generate_priors` within 1e-6 (UltraFace bit for bit).
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs-core";
import { boxesPerCell, type ModelConfig, type PriorLayer } from "./config.ts";

/** The prior count of one source feature map. */
export interface PriorLayerCount {
  /** `[H, W]` of the feature map. */
  size: [number, number];
  /** Default boxes per cell (`A`). */
  boxesPerCell: number;
  /** `H · W · A`. */
  count: number;
  /**
   * The layer's box scale as a fraction of the image side: `s_k` for the `ssd` rule, the
   * smallest size over the shorter image side for the `sizes` rule (UltraFace).
   */
  scale: number;
}

/** `[w, h]` of each anchor of one cell, normalized, in head order. */
function anchorSizes(layer: PriorLayer, imageSize: [number, number]): [number, number][] {
  const [imageH, imageW] = imageSize;
  const a = layer.anchors;
  if (a.kind === "sizes") return a.sizesPx.map((s) => [s / imageW, s / imageH]);
  // SSD paper §2.2; torchvision DefaultBoxGenerator._generate_wh_pairs order.
  const sPrime = Math.sqrt(a.scale * a.nextScale);
  const sizes: [number, number][] = [[a.scale, a.scale], [sPrime, sPrime]];
  for (const ar of a.aspectRatios) {
    const sq = Math.sqrt(ar);
    sizes.push([a.scale * sq, a.scale / sq], [a.scale / sq, a.scale * sq]);
  }
  return sizes;
}

/**
 * Per-layer prior counts of a config, in head order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "./config.ts";
 * import { priorLayerCounts } from "./priors.ts";
 * const counts = priorLayerCounts(getConfig("ssd300")).map((l) => l.count);
 * assert.deepEqual(counts, [5776, 2166, 600, 150, 36, 4]);
 * ```
 */
export function priorLayerCounts(cfg: ModelConfig): PriorLayerCount[] {
  const perCell = boxesPerCell(cfg);
  const [imageH, imageW] = cfg.imageSize;
  return cfg.priors.layers.map((layer, k) => {
    const [h, w] = layer.featureSize;
    const a = layer.anchors;
    const scale = a.kind === "ssd" ? a.scale : Math.min(...a.sizesPx) / Math.min(imageH, imageW);
    return { size: [h, w], boxesPerCell: perCell[k], count: h * w * perCell[k], scale };
  });
}

/**
 * All default boxes of a config: `[P, 4]` float32, row-major, `cxcywh` normalized to the
 * network input, in head order (layer, row, column, anchor). Cell centres are
 * `(j + 0.5) / (imageW / stepX)` with a step, `(j + 0.5) / W` without one. With
 * `cfg.priors.clip` w and h are clamped to [0, 1] as torchvision's `clip=True` does; centres
 * are not (SSD300's 10×10 map at step 32 puts its last column at 1.0133, in torchvision too).
 * UltraFace clamps all four values, which is the same for its priors, whose centres all lie
 * inside the image. Caffe does not clip.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "./config.ts";
 * import { generatePriors } from "./priors.ts";
 * const priors = generatePriors(getConfig("ssd300")); // [8732, 4]
 * assert.equal(priors.length, 8732 * 4);
 * // first box: centre of cell (0, 0) at 0.5 · 8 / 300, min size 30 px
 * assert.ok(Math.abs(priors[0] - 4 / 300) < 1e-6 && Math.abs(priors[2] - 0.1) < 1e-6);
 * ```
 */
export function generatePriors(cfg: ModelConfig): Float32Array {
  const total = priorLayerCounts(cfg).reduce((n, l) => n + l.count, 0);
  const out = new Float32Array(total * 4);
  const [imageH, imageW] = cfg.imageSize;
  const clip = (v: number) => cfg.priors.clip ? Math.min(1, Math.max(0, v)) : v;
  let i = 0;
  for (const layer of cfg.priors.layers) {
    const [h, w] = layer.featureSize;
    // torchvision: x_f_k = image_size / step; UltraFace: scale = image_size / shrinkage.
    const cellsY = layer.stepPx ? imageH / layer.stepPx[0] : h;
    const cellsX = layer.stepPx ? imageW / layer.stepPx[1] : w;
    const sizes = anchorSizes(layer, cfg.imageSize);
    for (let row = 0; row < h; row++) {
      const cy = (row + 0.5) / cellsY;
      for (let col = 0; col < w; col++) {
        const cx = (col + 0.5) / cellsX;
        for (const [bw, bh] of sizes) {
          out[i++] = cx;
          out[i++] = cy;
          out[i++] = clip(bw);
          out[i++] = clip(bh);
        }
      }
    }
  }
  return out;
}

/**
 * A stable fingerprint of a prior set: sha256 of the values rounded to 1e-6 (as little-endian
 * int32), first 16 hex digits. Equal for prior sets that agree to float32 noise, so it can
 * travel inside weight files and catch a config mismatch (8096 vs 8732 priors).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { priorsHash } from "./priors.ts";
 * const a = priorsHash(new Float32Array([0.5, 0.5, 0.1, 0.1]));
 * assert.match(a, /^[0-9a-f]{16}$/);
 * assert.equal(a, priorsHash(new Float32Array([0.5000001, 0.5, 0.1, 0.1])));
 * assert.notEqual(a, priorsHash(new Float32Array([0.5, 0.5, 0.1, 0.2])));
 * ```
 */
export function priorsHash(priors: Float32Array): string {
  const ints = new DataView(new ArrayBuffer(priors.length * 4));
  for (let i = 0; i < priors.length; i++) ints.setInt32(i * 4, Math.round(priors[i] * 1e6), true);
  return createHash("sha256").update(new Uint8Array(ints.buffer)).digest("hex").slice(0, 16);
}

/**
 * The priors of a config as a `[P, 4]` float32 tensor, `cxcywh` normalized. The caller owns it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { getConfig } from "./config.ts";
 * import { priorsTensor } from "./priors.ts";
 * const t = priorsTensor(getConfig("ssdlite320"));
 * assert.deepEqual(t.shape, [3234, 4]);
 * t.dispose();
 * ```
 */
export function priorsTensor(cfg: ModelConfig): tf.Tensor2D {
  const priors = generatePriors(cfg);
  return tf.tensor2d(priors, [priors.length / 4, 4]);
}
