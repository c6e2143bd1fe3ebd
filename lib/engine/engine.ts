/**
 * The inference engine interface: what detection needs from a network, on plain arrays, so the
 * same post-processing (decode, softmax, NMS on typed arrays) serves tfjs and onnxruntime.
 *
 * Input layout: NHWC, `[B, H, W, 3]` float32 normalized ((pixel − mean) / std, RGB), the
 * layout `normalizeRgb` produces and the tfjs model takes; an engine whose network is NCHW
 * (onnxruntime on an exported model) transposes on the way in.
 *
 * @module
 */
import type { ModelConfig } from "../config.ts";

/** Raw head outputs of one batch, row-major. */
export interface EngineOutputs {
  /** `[B, P, 4]` offsets `(dx, dy, dw, dh)` against the priors, before variances. */
  locPred: Float32Array;
  /** `[B, P, C]` class logits, background at column 0. */
  clsLogits: Float32Array;
  /** B. */
  batch: number;
  /** P. */
  numPriors: number;
  /** C, background included. */
  numClasses: number;
}

/** A network that maps normalized images to raw SSD head outputs. */
export interface InferenceEngine {
  /** `tfjs` or `onnxruntime`. */
  readonly kind: "tfjs" | "onnxruntime";
  /** The model's config: input size, normalization, priors, classes, post-processing. */
  readonly config: ModelConfig;
  /**
   * Runs the network: `images [B, H, W, 3]` float32 NHWC normalized → raw outputs. The input
   * is not modified.
   *
   * @throws {TypeError} when `images` does not hold `batch` images of the config's size.
   */
  predict(images: Float32Array, batch: number): Promise<EngineOutputs>;
  /** Frees the engine's weights or session. */
  dispose(): Promise<void>;
}

/**
 * Checks that `images` holds `batch` NHWC images of `cfg.imageSize`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "../config.ts";
 * import { checkEngineInput } from "./engine.ts";
 * assert.throws(() => checkEngineInput(new Float32Array(5), 1, getConfig("tiny")), TypeError);
 * ```
 */
export function checkEngineInput(images: Float32Array, batch: number, cfg: ModelConfig): void {
  const [h, w] = cfg.imageSize;
  if (!Number.isInteger(batch) || batch < 1 || images.length !== batch * h * w * 3) {
    throw new TypeError(
      `Cannot run ${cfg.name}: images must have shape [B, ${h}, ${w}, 3] with B = ${batch} ` +
        `(${batch * h * w * 3} values), got ${images.length} values`,
    );
  }
}
