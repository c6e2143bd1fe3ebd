/**
 * The tfjs engine: an {@linkcode InferenceEngine} over an `SsdModel`, on whatever tfjs backend
 * is running (the caller chooses it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { getConfig } from "../config.ts";
 * import { buildModel } from "../model/ssd.ts";
 * import { tfjsEngine } from "./tfjs_engine.ts";
 * await tf.setBackend("cpu");
 * const engine = tfjsEngine(buildModel(getConfig("tiny"), { seed: 1 }));
 * const out = await engine.predict(new Float32Array(160 * 160 * 3), 1);
 * assert.equal(out.numPriors, 2390);
 * assert.equal(out.locPred.length, 2390 * 4);
 * await engine.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SsdModel } from "../model/ssd.ts";
import { checkEngineInput, type EngineOutputs, type InferenceEngine } from "./engine.ts";

/**
 * Wraps `model` as an engine, in inference mode (BatchNorm running statistics). The engine
 * owns the model (`dispose()` frees it) unless `owned: false`.
 */
export function tfjsEngine(model: SsdModel, opts: { owned?: boolean } = {}): InferenceEngine {
  const cfg = model.config;
  const [h, w] = cfg.imageSize;
  return {
    kind: "tfjs",
    config: cfg,
    async predict(images: Float32Array, batch: number): Promise<EngineOutputs> {
      checkEngineInput(images, batch, cfg);
      const out = tf.tidy(() =>
        model.predict(tf.tensor4d(images, [batch, h, w, 3]), { training: false })
      );
      try {
        const [loc, logits] = await Promise.all([out.locPred.data(), out.clsLogits.data()]);
        return {
          locPred: loc as Float32Array,
          clsLogits: logits as Float32Array,
          batch,
          numPriors: out.locPred.shape[1],
          numClasses: out.clsLogits.shape[2],
        };
      } finally {
        tf.dispose([out.locPred, out.clsLogits]);
      }
    },
    dispose() {
      if (opts.owned ?? true) model.dispose();
      return Promise.resolve();
    },
  };
}
