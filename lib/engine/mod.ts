/**
 * Engines: the tfjs backend choice (webgpu, multi-threaded wasm, cpu), the conv gradients
 * that let every backend train, a small cross-backend conv check, and onnxruntime presence.
 *
 * @module
 */
export * from "./tfjs.ts";
export * from "./gradients.ts";
export * from "./check.ts";
export * from "./onnx.ts";
export { registerThreadedWasm } from "./wasm_threads.ts";
