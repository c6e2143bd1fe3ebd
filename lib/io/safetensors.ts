/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length
 * `N`, `N` bytes of JSON (`{"__metadata__": {str: str}, name: {dtype, shape, data_offsets}}`,
 * space-padded to a multiple of 8), then the raw little-endian data. Offsets are relative to
 * the start of the data section.
 *
 * Tensors keep the source layout (PyTorch convs are OIHW). Metadata values are strings; the
 * toolkit stores `config` as JSON text, `classes`, `prior_hash`, `arch`, `model`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSafetensors, serializeSafetensors } from "./safetensors.ts";
 * const tensors = new Map([
 *   ["w", { dtype: "float32" as const, shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
 * ]);
 * const bytes = serializeSafetensors(tensors, { arch: "tiny" });
 * const back = parseSafetensors(bytes, "mem.safetensors");
 * assert.deepEqual(back.tensors.get("w")?.shape, [2, 2]);
 * assert.deepEqual([...back.tensors.get("w")!.data], [1, 2, 3, 4]);
 * assert.equal(back.metadata.arch, "tiny");
 * ```
 *
 * @module
 */
import { FileError, showJsonValue } from "../errors.ts";
import { readFileChecked } from "./read.ts";
import { writeFileAtomic } from "./atomic.ts";
import type { DType, StateDict, TensorData } from "./state_dict.ts";

/** A parsed safetensors file: the tensors in file order and the `__metadata__` strings. */
export interface SafetensorsContent {
  /** The tensors, name → array, in the file's order. */
  tensors: StateDict;
  /** The header's `__metadata__` (string → string); empty when absent. */
  metadata: Record<string, string>;
}

/** safetensors dtype tag → our dtype and element size in bytes. */
const FROM_TAG: Record<string, { dtype: DType; bytes: number }> = {
  F64: { dtype: "float64", bytes: 8 },
  F32: { dtype: "float32", bytes: 4 },
  F16: { dtype: "float16", bytes: 2 },
  BF16: { dtype: "float32", bytes: 2 }, // widened to float32 on read (exact)
  I64: { dtype: "int64", bytes: 8 },
  I32: { dtype: "int32", bytes: 4 },
  U8: { dtype: "uint8", bytes: 1 },
  BOOL: { dtype: "bool", bytes: 1 },
};

const TO_TAG: Record<DType, string> = {
  float64: "F64",
  float32: "F32",
  float16: "F16",
  int64: "I64",
  int32: "I32",
  uint8: "U8",
  bool: "BOOL",
};

/** The safetensors library refuses headers over 100 MB; so do we. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parses a safetensors file held in memory. Tensors come back in data-offset order (the order
 * {@link serializeSafetensors} wrote them), each with its own copy of the data.
 *
 * @param bytes the whole file
 * @param file the file name, for error messages
 * @throws FileError when the file is truncated or its header is malformed (one line)
 */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsContent {
  if (bytes.length < 8) {
    throw new FileError(file, `truncated safetensors file: ${bytes.length} bytes, need at least 8`);
  }
  if (new TextDecoder().decode(bytes.subarray(0, 24)).startsWith("version https://git-lfs")) {
    throw new FileError(file, "a Git LFS pointer, not the weights (run git lfs pull)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) {
    throw new FileError(file, `not a safetensors file: header length ${headerLen} is too large`);
  }
  if (8 + headerLen > bytes.length) {
    throw new FileError(
      file,
      `truncated safetensors file: header needs ${headerLen} bytes, only ${
        bytes.length - 8
      } follow`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, 8 + headerLen),
    ));
  } catch (err) {
    const why = err instanceof SyntaxError ? (err as Error).message : "not UTF-8 text";
    throw new FileError(file, `malformed safetensors header: ${why}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new FileError(file, "malformed safetensors header: expected a JSON object");
  }
  const data = bytes.subarray(8 + headerLen);
  const metadata = parseMetadata(header.__metadata__, file);
  const entries: [string, number, number, TensorData][] = [];
  for (const [name, spec] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, finish, tensor] = parseEntry(name, spec, data, file);
    entries.push([name, begin, finish, tensor]);
  }
  entries.sort((a, b) => a[1] - b[1]);
  // As the safetensors library: the tensors tile the data section, no overlap, no hole.
  let end = 0;
  for (const [name, begin, finish] of entries) {
    if (begin !== end) {
      throw new FileError(
        file,
        `malformed safetensors header: tensor "${name}" starts at data byte ${begin}, ` +
          `expected ${end} (${begin < end ? "it overlaps the tensor before" : "a hole before it"})`,
      );
    }
    end = finish;
  }
  if (end !== data.length) {
    throw new FileError(
      file,
      `malformed safetensors file: the tensors cover ${end} bytes of a ${data.length}-byte data section`,
    );
  }
  return { tensors: new Map(entries.map(([name, , , t]) => [name, t])), metadata };
}

function parseMetadata(raw: unknown, file: string): Record<string, string> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new FileError(file, "malformed safetensors header: __metadata__ must be an object");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") {
      throw new FileError(
        file,
        `malformed safetensors header: __metadata__.${k} must be a string, got ${typeof v}`,
      );
    }
    out[k] = v;
  }
  return out;
}

function parseEntry(
  name: string,
  spec: unknown,
  data: Uint8Array,
  file: string,
): [number, number, TensorData] {
  const s = spec as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const bad = (what: string) =>
    new FileError(file, `malformed safetensors header: tensor "${name}" ${what}`);
  if (s === null || typeof s !== "object") throw bad("is not an object");
  const kind = typeof s.dtype === "string" ? FROM_TAG[s.dtype] : undefined;
  if (kind === undefined) throw bad(`has unsupported dtype ${showJsonValue(s.dtype)}`);
  const shape = s.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw bad(`has a bad shape ${showJsonValue(shape)}`);
  }
  const offsets = s.data_offsets;
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[0] > offsets[1]
  ) {
    throw bad(`has bad data_offsets ${showJsonValue(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (end - begin !== count * kind.bytes) {
    throw bad(
      `has ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${s.dtype} needs ${
        count * kind.bytes
      }`,
    );
  }
  if (end > data.length) {
    throw new FileError(
      file,
      `truncated safetensors file: tensor "${name}" ends at data byte ${end}, the data has ${data.length}`,
    );
  }
  const raw = data.slice(begin, end); // a copy: aligned, and independent of the file buffer
  return [begin, end, {
    dtype: kind.dtype,
    shape: shape as number[],
    data: typed(s.dtype as string, raw),
  }];
}

function typed(tag: string, raw: Uint8Array): TensorData["data"] {
  const buf = raw.buffer;
  switch (tag) {
    case "F64":
      return new Float64Array(buf);
    case "F32":
      return new Float32Array(buf);
    case "F16":
      return new Uint16Array(buf);
    case "BF16": {
      const half = new Uint16Array(buf);
      const wide = new Uint32Array(half.length);
      for (let i = 0; i < half.length; i++) wide[i] = half[i] << 16;
      return new Float32Array(wide.buffer);
    }
    case "I64":
      return new BigInt64Array(buf);
    case "I32":
      return new Int32Array(buf);
    default:
      return new Uint8Array(buf);
  }
}

/**
 * Serializes tensors and metadata to safetensors bytes, in the map's order. The header is
 * space-padded so the data starts at a multiple of 8.
 *
 * @throws TypeError when a tensor's data length does not match its shape
 */
export function serializeSafetensors(
  tensors: StateDict,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    if (name === "__metadata__") {
      throw new TypeError(`Cannot serialize safetensors: "__metadata__" is not a tensor name`);
    }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) {
      throw new TypeError(
        `Cannot serialize safetensors: tensor "${name}" has shape [${t.shape}] (${count} elements), got ${t.data.length} elements`,
      );
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = {
      dtype: TO_TAG[t.dtype],
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  let jsonBytes = new TextEncoder().encode(json);
  const pad = (8 - (jsonBytes.length % 8)) % 8;
  if (pad > 0) {
    json += " ".repeat(pad);
    jsonBytes = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Reads a `.safetensors` file.
 *
 * @throws FileError when the file cannot be read, is truncated or malformed
 */
export async function readSafetensors(path: string): Promise<SafetensorsContent> {
  const bytes = await readFileChecked(path);
  return parseSafetensors(bytes, path);
}

/**
 * Writes tensors and metadata to a `.safetensors` file: to a temporary name first, then
 * renamed, so a reader never sees half a file.
 */
export async function writeSafetensors(
  path: string,
  tensors: StateDict,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
