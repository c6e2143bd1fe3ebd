/**
 * SSD networks in tfjs with PyTorch state-dict names: SSD300/512 on VGG16, SSDLite320 on
 * MobileNetV3-Large, the small `tiny` model, UltraFace slim and RFB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { getConfig } from "../config.ts";
 * import { buildModel } from "./mod.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel(getConfig("face-rfb-320"));
 * assert.equal(model.numParams(), 276292);
 * model.dispose();
 * ```
 *
 * @module
 */
export { buildModel, type SsdModel } from "./ssd.ts";
export { inferConfig, loadModel, resolveConfig, shippedWeightsPath } from "./load.ts";
export type { HeadOutputs } from "./heads.ts";
