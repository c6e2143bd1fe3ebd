/**
 * Reads PyTorch `.pth` state dicts without Python and without running code.
 *
 * Two containers exist: the zip archive of `torch.save` since 1.6 (`<name>/data.pkl` and one
 * `<name>/data/<key>` file per storage) and the legacy stream (magic number, protocol, system
 * info and the main pickle, then each storage as an int64 element count and its bytes). Both
 * are read; the pickles go through the whitelist unpickler in `pickle.ts`, which accepts only
 * the globals a state dict uses.
 *
 * Tensors come back in PyTorch layout (convs OIHW), row-major, with non-contiguous views
 * copied out. A checkpoint that wraps the state dict (`{"state_dict": …}`, `{"model": …}`) is
 * unwrapped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTorchStateDict } from "./torch.ts";
 * const sd = await readTorchStateDict("fixtures/io/tiny_zip.pth");
 * assert.deepEqual(sd.get("conv.weight")?.shape, [4, 3, 3, 3]);
 * assert.equal(sd.get("conv.weight")?.dtype, "float32");
 * ```
 *
 * @module
 */
import { unzipSync } from "fflate";
import { FileError } from "../errors.ts";
import { readFileChecked } from "./read.ts";
import { GlobalRef, type PickleGlobal, unpickle } from "./pickle.ts";
import type { DType, StateDict, TensorData } from "./state_dict.ts";

/** torch storage class → how its elements are stored and what we turn them into. */
const STORAGES: Record<string, { bytes: number; dtype: DType; kind: string }> = {
  "torch.FloatStorage": { bytes: 4, dtype: "float32", kind: "f32" },
  "torch.DoubleStorage": { bytes: 8, dtype: "float64", kind: "f64" },
  "torch.HalfStorage": { bytes: 2, dtype: "float16", kind: "f16" },
  "torch.BFloat16Storage": { bytes: 2, dtype: "float32", kind: "bf16" },
  "torch.LongStorage": { bytes: 8, dtype: "int64", kind: "i64" },
  "torch.IntStorage": { bytes: 4, dtype: "int32", kind: "i32" },
  "torch.ShortStorage": { bytes: 2, dtype: "int32", kind: "i16" },
  "torch.CharStorage": { bytes: 1, dtype: "int32", kind: "i8" },
  "torch.ByteStorage": { bytes: 1, dtype: "uint8", kind: "u8" },
  "torch.BoolStorage": { bytes: 1, dtype: "bool", kind: "u8" },
};

/** Most bytes the archive may unzip to (the largest SSD state dicts hold ~100 MB). */
const MAX_UNZIPPED_BYTES = 2 ** 31;
/** Most a compressed entry may inflate, × its compressed size (torch.save never compresses). */
const MAX_RATIO = 100;

/** A storage named by a persistent id; its bytes are found after unpickling. */
interface StorageRef {
  key: string;
  type: string;
  numel: number;
  /** Legacy storage views: (view key, element offset, element count) into `key`. */
  view?: { offset: number; numel: number };
}

/** What `_rebuild_tensor_v2` leaves behind: a strided view of a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** The only globals a state dict needs. Each builds plain data; none runs anything else. */
function stateDictGlobals(file: string): Record<string, PickleGlobal> {
  const ints = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || !v.every((d) => typeof d === "number" && Number.isInteger(d))) {
      throw new FileError(file, `malformed state dict: tensor ${what} is not a tuple of ints`);
    }
    return v as number[];
  };
  const rebuildTensor: PickleGlobal = (args) => {
    const [storage, offset, size, stride] = args;
    if (!isStorageRef(storage) || typeof offset !== "number") {
      throw new FileError(file, "malformed state dict: _rebuild_tensor_v2 without a storage");
    }
    return new TensorRef(storage, offset, ints(size, "size"), ints(stride, "stride"));
  };
  const rebuildParameter: PickleGlobal = (args) => args[0];
  const orderedDict: PickleGlobal = (args) => {
    const d = new Map<unknown, unknown>();
    if (Array.isArray(args[0])) {
      for (const kv of args[0]) if (Array.isArray(kv)) d.set(kv[0], kv[1]);
    }
    return d;
  };
  const storageClass: PickleGlobal = () => {
    throw new FileError(file, "refusing to load: a storage class is called directly");
  };
  const globals: Record<string, PickleGlobal> = {
    "collections.OrderedDict": orderedDict,
    "torch._utils._rebuild_tensor_v2": rebuildTensor,
    "torch._utils._rebuild_parameter": rebuildParameter,
    "torch._utils._rebuild_parameter_with_state": rebuildParameter,
  };
  for (const name of Object.keys(STORAGES)) globals[name] = storageClass;
  return globals;
}

function isStorageRef(v: unknown): v is StorageRef {
  return typeof v === "object" && v !== null && "key" in v && "type" in v && "numel" in v;
}

/** `('storage', storage_type, key, location, numel[, view_metadata])` → a StorageRef. */
function storageFromPid(pid: unknown, file: string): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== "storage" || !(pid[1] instanceof GlobalRef)) {
    throw new FileError(file, "refusing to load: a persistent id that is not a torch storage");
  }
  const type = pid[1].qualname;
  if (!(type in STORAGES)) {
    throw new FileError(file, `refusing to load: unsupported storage type ${type}`);
  }
  const ref: StorageRef = { key: String(pid[2]), type, numel: Number(pid[4]) };
  const view = pid[5];
  if (Array.isArray(view)) ref.view = { offset: Number(view[1]), numel: Number(view[2]) };
  return ref;
}

/**
 * Parses a `.pth` file held in memory (zip or legacy) into a state dict.
 *
 * @param bytes the whole file
 * @param file the file name, for error messages
 * @throws FileError for a pickle that references anything but the state-dict globals, a
 *   truncated file, or a checkpoint without a state dict
 */
export function parseTorchStateDict(bytes: Uint8Array, file: string): StateDict {
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b; // "PK"
  const storages = new Map<string, StorageRef>();
  const globals = stateDictGlobals(file);
  const persistentLoad = (pid: unknown) => {
    const ref = storageFromPid(pid, file);
    const known = storages.get(ref.key);
    if (known === undefined) storages.set(ref.key, ref);
    return ref;
  };
  let root: unknown;
  let storageBytes: (key: string) => Uint8Array;
  if (isZip) {
    let entries: Record<string, Uint8Array>;
    let bomb: string | undefined;
    let total = 0;
    try {
      // Sizes are checked before anything is inflated: torch.save stores its entries
      // uncompressed, so an entry that would inflate far beyond its bytes is a zip bomb.
      entries = unzipSync(bytes, {
        filter: (f) => {
          total += f.originalSize;
          const inflates = f.compression !== 0 && f.originalSize > MAX_RATIO * f.size + 2 ** 20;
          if (bomb === undefined && (inflates || total > MAX_UNZIPPED_BYTES)) {
            bomb = `entry ${f.name} declares ${f.originalSize} bytes from ${f.size}`;
          }
          return bomb === undefined;
        },
      });
    } catch (err) {
      throw new FileError(file, `not a readable zip archive: ${(err as Error).message}`);
    }
    if (bomb !== undefined) {
      throw new FileError(file, `refusing to load: ${bomb} (a zip bomb?)`);
    }
    const pkl = Object.keys(entries).find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkl === undefined) throw new FileError(file, "not a PyTorch archive: no <name>/data.pkl");
    const prefix = pkl.slice(0, -"data.pkl".length);
    const order = entries[`${prefix}byteorder`];
    if (order !== undefined && new TextDecoder().decode(order).trim() !== "little") {
      throw new FileError(file, "big-endian PyTorch archives are not supported");
    }
    root = unpickle(entries[pkl], { file, globals, persistentLoad }).value;
    storageBytes = (key) => {
      const data = entries[`${prefix}data/${key}`];
      if (data === undefined) {
        throw new FileError(file, `truncated archive: storage ${key} is missing`);
      }
      return data;
    };
  } else {
    const read = readLegacy(bytes, file, { globals, persistentLoad, storages });
    root = read.root;
    storageBytes = (key) => {
      const data = read.storages.get(key);
      if (data === undefined) {
        throw new FileError(file, `truncated file: storage ${key} is missing`);
      }
      return data;
    };
  }
  const dict = findStateDict(root, file);
  const out: StateDict = new Map();
  for (const [name, ref] of dict) out.set(name, materialize(name, ref, storageBytes, file));
  return out;
}

/** The legacy (pre-1.6) stream: 4 pickles, then the storages in the order the 5th lists. */
function readLegacy(
  bytes: Uint8Array,
  file: string,
  options: {
    globals: Record<string, PickleGlobal>;
    persistentLoad: (pid: unknown) => unknown;
    /** Filled by `persistentLoad` while the main pickle is read. */
    storages: Map<string, StorageRef>;
  },
): { root: unknown; storages: Map<string, Uint8Array> } {
  const { globals, persistentLoad } = options;
  let magic: { value: unknown; end: number };
  try {
    magic = unpickle(bytes, { file });
  } catch {
    throw new FileError(file, "not a PyTorch file: neither a zip archive nor a legacy .pth");
  }
  if (magic.value !== 0x1950a86a20f9469cfc6cn) {
    throw new FileError(file, "not a PyTorch file: bad magic number");
  }
  const proto = unpickle(bytes, { file, offset: magic.end });
  if (proto.value !== 1001) {
    throw new FileError(file, `unsupported legacy .pth protocol ${String(proto.value)}`);
  }
  const sysInfo = unpickle(bytes, { file, offset: proto.end });
  if (sysInfo.value instanceof Map && sysInfo.value.get("little_endian") === false) {
    throw new FileError(file, "big-endian PyTorch files are not supported");
  }
  const main = unpickle(bytes, { file, offset: sysInfo.end, globals, persistentLoad });
  const keys = unpickle(bytes, { file, offset: main.end });
  if (!Array.isArray(keys.value)) {
    throw new FileError(file, "malformed legacy .pth: no storage keys");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of keys.value.map(String)) {
    if (pos + 8 > bytes.length) {
      throw new FileError(file, `truncated file: storage ${key} is cut off`);
    }
    const numel = Number(view.getBigInt64(pos, true));
    const type = options.storages.get(key)?.type;
    const elementBytes = type === undefined ? 1 : STORAGES[type].bytes;
    const end = pos + 8 + numel * elementBytes;
    if (numel < 0 || end > bytes.length) {
      throw new FileError(file, `truncated file: storage ${key} is cut off`);
    }
    storages.set(key, bytes.subarray(pos + 8, end));
    pos = end;
  }
  return { root: main.value, storages };
}

const WRAPPERS = ["state_dict", "model_state_dict", "model", "net", "module", "weights"];

function isTensorDict(v: unknown): v is Map<string, TensorRef> {
  if (!(v instanceof Map) || v.size === 0) return false;
  for (const [k, x] of v) if (typeof k !== "string" || !(x instanceof TensorRef)) return false;
  return true;
}

function findStateDict(root: unknown, file: string): Map<string, TensorRef> {
  if (isTensorDict(root)) return root;
  if (root instanceof Map) {
    for (const key of WRAPPERS) {
      const inner = root.get(key);
      if (isTensorDict(inner)) return inner;
    }
    const keys = [...root.keys()].slice(0, 8).map(String).join(", ");
    throw new FileError(file, `no state dict found: top-level keys are ${keys || "(none)"}`);
  }
  throw new FileError(file, "no state dict found: the pickle holds no dict of tensors");
}

/** Copies a strided view out of its storage into a fresh row-major array. */
function materialize(
  name: string,
  ref: TensorRef,
  storageBytes: (key: string) => Uint8Array,
  file: string,
): TensorData {
  const spec = STORAGES[ref.storage.type];
  const raw = storageBytes(ref.storage.key);
  const base = ref.storage.view?.offset ?? 0;
  const storageNumel = raw.length / spec.bytes;
  const count = ref.shape.reduce((a, b) => a * b, 1);
  let last = ref.offset;
  for (let d = 0; d < ref.shape.length; d++) last += (ref.shape[d] - 1) * ref.stride[d];
  if (count > 0 && (ref.offset < 0 || base + last >= storageNumel)) {
    throw new FileError(
      file,
      `truncated or malformed: tensor "${name}" reaches element ${
        base + last
      } of a storage with ${storageNumel}`,
    );
  }
  if (isContiguous(ref.shape, ref.stride) || count <= 1) {
    const start = (base + ref.offset) * spec.bytes;
    const part = raw.slice(start, start + count * spec.bytes); // own, aligned copy
    const data = spec.kind === "f32"
      ? new Float32Array(part.buffer)
      : readElements(spec.kind, part, new Float64Array(count).map((_, i) => i));
    return { dtype: spec.dtype, shape: [...ref.shape], data };
  }
  // Element indices into the storage, in row-major order of `shape`.
  const index = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let rem = i;
    let at = base + ref.offset;
    for (let d = ref.shape.length - 1; d >= 0; d--) {
      at += (rem % ref.shape[d]) * ref.stride[d];
      rem = Math.floor(rem / ref.shape[d]);
    }
    index[i] = at;
  }
  const data = readElements(spec.kind, raw.slice(), index);
  return { dtype: spec.dtype, shape: [...ref.shape], data };
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Elements at `index` of `raw` (an own, aligned copy of storage bytes), little-endian. */
function readElements(kind: string, raw: Uint8Array, index: Float64Array): TensorData["data"] {
  const n = index.length;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (kind) {
    case "f32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(index[i] * 4, true);
      return out;
    }
    case "f64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(index[i] * 8, true);
      return out;
    }
    case "f16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint16(index[i] * 2, true);
      return out;
    }
    case "bf16": {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(index[i] * 2, true) << 16;
      return out;
    }
    case "i64": {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getBigInt64(index[i] * 8, true);
      return out;
    }
    case "i32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(index[i] * 4, true);
      return out;
    }
    case "i16": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(index[i] * 2, true);
      return out;
    }
    case "i8": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(index[i]);
      return out;
    }
    default: {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint8(index[i]);
      return out;
    }
  }
}

/**
 * Reads a PyTorch `.pth` state dict (zip or legacy format) safely.
 *
 * @throws FileError when the file cannot be read, references a global a state dict never
 *   uses, is truncated, or holds no state dict
 */
export async function readTorchStateDict(path: string): Promise<StateDict> {
  const bytes = await readFileChecked(path);
  return parseTorchStateDict(bytes, path);
}
