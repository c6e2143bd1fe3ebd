/**
 * Weight files: safetensors read/write and PyTorch `.pth` state dicts through a whitelist
 * unpickler. Tensors keep the source layout (PyTorch convs OIHW).
 *
 * @module
 */
export * from "./state_dict.ts";
export * from "./safetensors.ts";
export * from "./torch.ts";
export { type PickleGlobal, unpickle, type UnpickleOptions } from "./pickle.ts";
