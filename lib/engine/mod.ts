/**
 * Engines: the tfjs backend choice (webgpu, multi-threaded wasm, cpu), the conv gradients
 * that let every backend train, a small cross-backend conv check, onnxruntime presence, and
 * the inference engine interface (tfjs and onnxruntime) with detection on plain arrays.
 *
 * @module
 */
export * from "./tfjs.ts";
export * from "./gradients.ts";
export * from "./check.ts";
export * from "./onnx.ts";
export { registerThreadedWasm } from "./wasm_threads.ts";
export * from "./engine.ts";
export * from "./tfjs_engine.ts";
export * from "./onnx_engine.ts";
export * from "./detect.ts";
export { OnnxTrainer } from "./onnx_trainer.ts";
export type { OnnxGradients, OnnxTrainerOptions } from "./onnx_trainer.ts";
export { buildTrainGraphs, onnxTrainingGap } from "./onnx_train_graph.ts";
export type { TrainGraphs } from "./onnx_train_graph.ts";
