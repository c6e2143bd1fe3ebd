/**
 * The zip container of `torch.save`: every record stored uncompressed, its data starting on a
 * 64-byte boundary (PyTorch pads the local header's extra field with an `FB` block of `Z`s so
 * that storages can be memory-mapped), no data descriptors, no zip64 (archives below 4 GiB and
 * 65 535 records, which every SSD state dict is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unzipSync } from "fflate";
 * import { writeStoredZip } from "./torch_zip.ts";
 * const bytes = writeStoredZip([
 *   { name: "archive/version", data: new TextEncoder().encode("3\n") },
 *   { name: "archive/data/0", data: new Uint8Array([1, 2, 3]) },
 * ]);
 * const entries = unzipSync(bytes);
 * assert.deepEqual([...entries["archive/data/0"]], [1, 2, 3]);
 * ```
 *
 * @module
 */
import { crc32 } from "../io/crc32.ts";

/** One record of the archive: a name (ASCII, `/`-separated) and its bytes. */
export interface ZipRecord {
  name: string;
  data: Uint8Array;
}

/** Data alignment torch uses (`caffe2::serialize::kFieldAlignment`). */
export const ZIP_ALIGNMENT = 64;

const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const END_RECORD = 22;
const EXTRA_HEADER = 4;
const FB_EXTRA_ID = 0x4246; // the bytes "FB", as PyTorch's writer tags its padding
const DOS_DATE_1980_01_01 = (1 << 5) | 1;

/** Bytes of `FB` extra field that put data written after a header ending at `end` on a boundary. */
function paddingExtra(end: number): number {
  let pad = (ZIP_ALIGNMENT - (end % ZIP_ALIGNMENT)) % ZIP_ALIGNMENT;
  if (pad === 0) return 0;
  if (pad < EXTRA_HEADER) pad += ZIP_ALIGNMENT; // the extra field's own header needs 4 bytes
  return pad;
}

/**
 * Lays `records` out as a zip archive in the order given: stored (method 0), every record's
 * data 64-byte aligned, then the central directory.
 *
 * @throws {RangeError} for a non-ASCII or empty name, a duplicate name, or an archive that
 *   would need zip64 (≥ 4 GiB or ≥ 65 535 records).
 */
export function writeStoredZip(records: ZipRecord[]): Uint8Array {
  const seen = new Set<string>();
  const names = records.map((r) => {
    if (r.name === "" || !/^[\x21-\x7e]+$/.test(r.name)) {
      throw new RangeError(`Cannot write zip record "${r.name}": names must be printable ASCII`);
    }
    if (seen.has(r.name)) throw new RangeError(`Cannot write zip: duplicate record "${r.name}"`);
    seen.add(r.name);
    return new TextEncoder().encode(r.name);
  });
  if (records.length >= 0xffff) {
    throw new RangeError(`Cannot write zip: ${records.length} records need zip64 (max 65 534)`);
  }
  // Pass 1: offsets.
  const layout: { offset: number; extra: number; crc: number }[] = [];
  let pos = 0;
  records.forEach((r, i) => {
    const headerEnd = pos + LOCAL_HEADER + names[i].length;
    const extra = paddingExtra(headerEnd);
    layout.push({ offset: pos, extra, crc: crc32(r.data) });
    pos = headerEnd + extra + r.data.length;
  });
  const centralOffset = pos;
  const centralSize = names.reduce((n, name) => n + CENTRAL_HEADER + name.length, 0);
  const total = centralOffset + centralSize + END_RECORD;
  if (total > 0xffffffff) {
    throw new RangeError(`Cannot write zip: ${total} bytes need zip64 (max 4 GiB)`);
  }
  // Pass 2: bytes.
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const u16 = (at: number, v: number) => view.setUint16(at, v, true);
  const u32 = (at: number, v: number) => view.setUint32(at, v, true);
  records.forEach((r, i) => {
    const { offset, extra, crc } = layout[i];
    const name = names[i];
    u32(offset, 0x04034b50);
    u16(offset + 4, 20); // version needed: 2.0
    u16(offset + 6, 0); // flags: sizes in this header, no data descriptor
    u16(offset + 8, 0); // method: stored
    u16(offset + 10, 0); // time 00:00:00
    u16(offset + 12, DOS_DATE_1980_01_01);
    u32(offset + 14, crc);
    u32(offset + 18, r.data.length);
    u32(offset + 22, r.data.length);
    u16(offset + 26, name.length);
    u16(offset + 28, extra);
    out.set(name, offset + LOCAL_HEADER);
    const extraAt = offset + LOCAL_HEADER + name.length;
    if (extra > 0) {
      u16(extraAt, FB_EXTRA_ID);
      u16(extraAt + 2, extra - EXTRA_HEADER);
      out.fill(0x5a, extraAt + EXTRA_HEADER, extraAt + extra); // "Z"
    }
    out.set(r.data, extraAt + extra);
  });
  let at = centralOffset;
  records.forEach((r, i) => {
    const { offset, crc } = layout[i];
    const name = names[i];
    u32(at, 0x02014b50);
    u16(at + 4, 20); // version made by: 2.0, MS-DOS attributes
    u16(at + 6, 20);
    u16(at + 8, 0);
    u16(at + 10, 0);
    u16(at + 12, 0);
    u16(at + 14, DOS_DATE_1980_01_01);
    u32(at + 16, crc);
    u32(at + 20, r.data.length);
    u32(at + 24, r.data.length);
    u16(at + 28, name.length);
    // extra, comment, disk number, internal and external attributes: 0
    u32(at + 42, offset);
    out.set(name, at + CENTRAL_HEADER);
    at += CENTRAL_HEADER + name.length;
  });
  u32(at, 0x06054b50);
  u16(at + 8, records.length);
  u16(at + 10, records.length);
  u32(at + 12, centralSize);
  u32(at + 16, centralOffset);
  return out;
}
