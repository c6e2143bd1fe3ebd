/**
 * A state dict as it travels between files and models: parameter name → typed array with a
 * shape, in the source framework's layout (PyTorch convs are OIHW). Layout conversion to
 * tfjs (HWIO) happens in `lib/model/`, when weights are assigned.
 */

/** Element types a state dict may hold. */
export type DType = "float32" | "float16" | "float64" | "int64" | "int32" | "uint8" | "bool";

/** One named array of a state dict. `data` is row-major; int64 is held as `BigInt64Array`. */
export interface TensorData {
  /** The element type. */
  dtype: DType;
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /**
   * The elements, `shape`'s product of them, in the array type of `dtype` (float16 as its raw
   * bits in a `Uint16Array`, bool as 0/1 in a `Uint8Array`).
   */
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;
}

/** Parameter name → array, in the file's order. */
export type StateDict = Map<string, TensorData>;
