/**
 * A fix for tfjs-backend-webgpu 4.22's `AddN`: its shader binds every input as a storage buffer,
 * and a WebGPU device allows `maxStorageBuffersPerShaderStage` of them (8 unless raised, and tfjs
 * does not raise it), one of which is the output. With more inputs the pipeline fails validation,
 * nothing is written, and the whole submission reads back stale values: a training step summing
 * the squares of its ~50 gradients read loss 0. (Its `Concat` already splits its inputs so.)
 *
 * {@link chunkWebGpuAddN} re-registers the kernel to sum at most that many inputs per shader,
 * then the partial sums the same way.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

type AddNFunc = (args: { inputs: tf.TensorInfo[]; backend: unknown }) => tf.TensorInfo;

interface WebGpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): void;
}

let patched = false;

/** Makes the webgpu backend's `AddN` take any number of inputs. Idempotent. */
export function chunkWebGpuAddN(): void {
  const original = tf.getKernel(tf.AddN, "webgpu");
  if (patched || original === undefined) return;
  const addN = original.kernelFunc as unknown as AddNFunc;
  const chunked: AddNFunc = ({ inputs, backend }) => {
    const gpu = backend as WebGpuBackendLike;
    const limit = Math.max(2, gpu.device.limits.maxStorageBuffersPerShaderStage - 1);
    if (inputs.length <= limit) return addN({ inputs, backend });
    const partial: tf.TensorInfo[] = [];
    for (let i = 0; i < inputs.length; i += limit) {
      partial.push(addN({ inputs: inputs.slice(i, i + limit), backend }));
    }
    const sum = chunked({ inputs: partial, backend });
    for (const t of partial) gpu.disposeData(t.dataId);
    return sum;
  };
  tf.unregisterKernel(tf.AddN, "webgpu");
  tf.registerKernel({ ...original, kernelFunc: chunked as unknown as tf.KernelFunc });
  patched = true;
}
