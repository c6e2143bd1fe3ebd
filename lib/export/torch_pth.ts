/**
 * Writes PyTorch `.pth` state dicts in the zip format `torch.save` has used since 1.6, so that
 * `torch.load` and `model.load_state_dict` take our weights as they are.
 *
 * The archive holds, under one folder (`archive/` by default):
 * - `data.pkl`: a protocol-2 pickle of an `OrderedDict` name →
 *   `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`, each
 *   storage a persistent id `('storage', torch.<T>Storage, key, 'cpu', numel)`;
 * - `data/<key>`: each storage's raw little-endian bytes (one storage per tensor, row-major);
 * - `version` (`3`) and `byteorder` (`little`).
 * Records are stored uncompressed with their data 64-byte aligned, as torch writes them.
 *
 * Tensors keep their dtype: float32 → `FloatStorage`, int64 (`num_batches_tracked`) →
 * `LongStorage`, and likewise float16/float64/int32/uint8/bool. Layout is PyTorch's (convs
 * OIHW), which is how {@linkcode StateDict}s hold it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeTorchPth } from "./torch_pth.ts";
 * import { parseTorchStateDict } from "../io/torch.ts";
 * const sd = new Map([
 *   ["conv.weight", { dtype: "float32" as const, shape: [1, 1, 1, 2], data: Float32Array.of(1, -2) }],
 *   ["bn.num_batches_tracked", { dtype: "int64" as const, shape: [], data: BigInt64Array.of(7n) }],
 * ]);
 * const back = parseTorchStateDict(encodeTorchPth(sd), "mem.pth");
 * assert.deepEqual([...back.get("conv.weight")!.data], [1, -2]);
 * assert.equal(back.get("bn.num_batches_tracked")!.data[0], 7n);
 * ```
 *
 * @module
 */
import { writeFileAtomic } from "../io/atomic.ts";
import type { DType, StateDict, TensorData } from "../io/state_dict.ts";
import { writeStoredZip, type ZipRecord } from "./torch_zip.ts";

/** dtype → torch storage class and element size. */
const STORAGE_OF: Record<DType, { storage: string; bytes: number }> = {
  float32: { storage: "FloatStorage", bytes: 4 },
  float64: { storage: "DoubleStorage", bytes: 8 },
  float16: { storage: "HalfStorage", bytes: 2 },
  int64: { storage: "LongStorage", bytes: 8 },
  int32: { storage: "IntStorage", bytes: 4 },
  uint8: { storage: "ByteStorage", bytes: 1 },
  bool: { storage: "BoolStorage", bytes: 1 },
};

/** Pickle protocol 2 opcodes the writer uses. */
const OP = {
  PROTO: 0x80,
  GLOBAL: 0x63,
  EMPTY_TUPLE: 0x29,
  MARK: 0x28,
  TUPLE: 0x74,
  REDUCE: 0x52,
  SETITEMS: 0x75,
  BINUNICODE: 0x58,
  BININT1: 0x4b,
  BININT2: 0x4d,
  BININT: 0x4a,
  LONG1: 0x8a,
  NEWFALSE: 0x89,
  BINPERSID: 0x51,
  STOP: 0x2e,
} as const;

/** An append-only byte buffer with the pickle encodings of the few values a state dict has. */
class PickleWriter {
  #buf = new Uint8Array(1024);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  bytes(...values: number[]): void {
    this.#reserve(values.length);
    this.#buf.set(values, this.#len);
    this.#len += values.length;
  }

  raw(data: Uint8Array): void {
    this.#reserve(data.length);
    this.#buf.set(data, this.#len);
    this.#len += data.length;
  }

  /** `GLOBAL "module\nname\n"`. */
  global(module: string, name: string): void {
    this.bytes(OP.GLOBAL);
    this.raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }

  str(s: string): void {
    const utf8 = new TextEncoder().encode(s);
    this.bytes(OP.BINUNICODE, ...le32(utf8.length));
    this.raw(utf8);
  }

  /** A non-negative or negative Python int, in the shortest protocol-2 form. */
  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`Cannot pickle ${v}: not a safe integer`);
    if (v >= 0 && v < 0x100) this.bytes(OP.BININT1, v);
    else if (v >= 0 && v < 0x10000) this.bytes(OP.BININT2, v & 0xff, v >> 8);
    else if (v >= -0x80000000 && v < 0x80000000) this.bytes(OP.BININT, ...le32(v));
    else {
      // LONG1: little-endian two's complement, 8 bytes are enough for any safe integer
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
      this.bytes(OP.LONG1, 8, ...b);
    }
  }

  intTuple(values: number[]): void {
    if (values.length === 0) return this.bytes(OP.EMPTY_TUPLE);
    this.bytes(OP.MARK);
    for (const v of values) this.int(v);
    this.bytes(OP.TUPLE);
  }

  /** `collections.OrderedDict()`. */
  emptyOrderedDict(): void {
    this.global("collections", "OrderedDict");
    this.bytes(OP.EMPTY_TUPLE, OP.REDUCE);
  }

  result(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Row-major strides of `shape` in elements. */
function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** The raw little-endian bytes of a tensor, after checking its element count. */
function tensorBytes(name: string, t: TensorData): Uint8Array {
  const spec = STORAGE_OF[t.dtype];
  if (spec === undefined) {
    throw new TypeError(`Cannot write "${name}" to .pth: unsupported dtype ${String(t.dtype)}`);
  }
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (bytes.length !== numel * spec.bytes) {
    throw new TypeError(
      `Cannot write "${name}" to .pth: shape [${t.shape}] of ${t.dtype} needs ${
        numel * spec.bytes
      } bytes, the data has ${bytes.length}`,
    );
  }
  return bytes;
}

/** The `data.pkl` of a state dict whose i-th tensor lives in storage key `String(i)`. */
function pickleStateDict(sd: StateDict): Uint8Array {
  const p = new PickleWriter();
  p.bytes(OP.PROTO, 2);
  p.emptyOrderedDict();
  p.bytes(OP.MARK);
  let key = 0;
  for (const [name, t] of sd) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    p.str(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.bytes(OP.MARK); // the arguments tuple
    p.bytes(OP.MARK); // the persistent id
    p.str("storage");
    p.global("torch", STORAGE_OF[t.dtype].storage);
    p.str(String(key++));
    p.str("cpu");
    p.int(numel);
    p.bytes(OP.TUPLE, OP.BINPERSID);
    p.int(0); // storage offset
    p.intTuple(t.shape);
    p.intTuple(contiguousStrides(t.shape));
    p.bytes(OP.NEWFALSE); // requires_grad
    p.emptyOrderedDict(); // backward hooks
    p.bytes(OP.TUPLE, OP.REDUCE);
  }
  p.bytes(OP.SETITEMS, OP.STOP);
  return p.result();
}

/** Options of {@linkcode encodeTorchPth}. */
export interface TorchPthOptions {
  /** The archive's top folder (torch uses the file's stem; any name loads). Default `archive`. */
  archiveName?: string;
}

/**
 * A state dict as the bytes of a `torch.save` zip archive.
 *
 * @param sd name → tensor, PyTorch layout; written in its iteration order
 * @throws {TypeError} for a tensor whose data does not match its shape and dtype
 * @throws {RangeError} for a bad archive name or an archive that would need zip64
 */
export function encodeTorchPth(sd: StateDict, opts: TorchPthOptions = {}): Uint8Array {
  const archive = opts.archiveName ?? "archive";
  if (!/^[\w.-]+$/.test(archive)) {
    throw new RangeError(
      `Cannot write .pth: archive name must be letters, digits, "_", "." or "-", got "${archive}"`,
    );
  }
  const data = [...sd].map(([name, t]) => tensorBytes(name, t));
  const text = (s: string) => new TextEncoder().encode(s);
  const records: ZipRecord[] = [
    { name: `${archive}/data.pkl`, data: pickleStateDict(sd) },
    { name: `${archive}/byteorder`, data: text("little") },
    ...data.map((bytes, i) => ({ name: `${archive}/data/${i}`, data: bytes })),
    { name: `${archive}/version`, data: text("3\n") },
  ];
  return writeStoredZip(records);
}

/**
 * Writes `sd` to `path` as a `.pth` file that `torch.load(path)` reads as an `OrderedDict` of
 * CPU tensors (then `model.load_state_dict(...)`). The file appears whole or not at all
 * (written to a temporary file, then renamed).
 *
 * @param sd name → tensor in PyTorch layout (convs OIHW; int64 counters as `BigInt64Array`)
 * @param path the `.pth` file to write
 * @throws {TypeError} for a tensor whose data does not match its shape and dtype
 * @throws {FileError} when the file cannot be written
 */
export async function writeTorchPth(sd: StateDict, path: string): Promise<void> {
  await writeFileAtomic(path, encodeTorchPth(sd));
}
