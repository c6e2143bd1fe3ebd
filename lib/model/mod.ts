/**
 * SSD networks in tfjs with PyTorch state-dict names: SSD300/512 on VGG16, SSDLite320 on
 * MobileNetV3-Large, the small `tiny` model, UltraFace slim and RFB. Each network is described
 * once as a layer graph (`describeNetwork`), which `runGraph` runs and the exporters walk.
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
export { describeNetwork } from "./network.ts";
export { graphShapes } from "./graph_shapes.ts";
export { createParamStore, runGraph } from "./run_graph.ts";
export type * from "./graph_ir.ts";
export type { AddOptions, Init, Layout, ParamEntry, ParamStore } from "./params.ts";
export { inferConfig, loadModel, resolveConfig, shippedWeightsPath } from "./load.ts";
export type { HeadOutputs } from "./heads.ts";
