import { onnxruntimeAvailable } from "./lib/engine/onnx.ts";
console.log(await onnxruntimeAvailable());
