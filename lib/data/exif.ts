/**
 * EXIF orientation of JPEG files: reading the tag (0x0112) and applying it to decoded pixels,
 * as `cv2.imread` and `PIL.ImageOps.exif_transpose` do. JPEG decoders (imagescript's included)
 * return the stored pixels; cameras store them unrotated and say how to show them here.
 *
 * @module
 */
import type { RgbImage } from "./types.ts";

/**
 * Reads the EXIF orientation (1…8) of a JPEG file, or 1 when it has none.
 *
 * Walks the markers from SOI up to the first SOS, looks for an APP1 `Exif\0\0` segment, and
 * reads tag 0x0112 of IFD0 in either byte order (`II` or `MM`). A damaged EXIF block is ignored
 * (orientation 1), as image viewers do.
 *
 * @param bytes the whole JPEG file
 * @returns 1 (as stored) … 8; values outside 1…8 are treated as 1
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readJpegOrientation } from "./exif.ts";
 * // SOI, then APP1 "Exif\0\0" + big-endian TIFF header + IFD0 with Orientation = 6.
 * const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0];
 * const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
 * const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0, body.length + 2, ...body, 0xff, 0xda]);
 * assert.equal(readJpegOrientation(jpeg), 6);
 * assert.equal(readJpegOrientation(new Uint8Array([0xff, 0xd8, 0xff, 0xda])), 1);
 * ```
 */
export function readJpegOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return 1;
    const marker = bytes[p + 1];
    if (marker === 0xff) { // fill byte
      p++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return 1; // SOS / EOI: no EXIF before the data
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // markers without a length
      p += 2;
      continue;
    }
    const length = view.getUint16(p + 2);
    if (length < 2) return 1;
    const start = p + 4, end = p + 2 + length;
    if (marker === 0xe1 && end <= bytes.length && isExifHeader(bytes, start)) {
      return orientationFromTiff(view, start + 6, end);
    }
    p = end;
  }
  return 1;
}

function isExifHeader(bytes: Uint8Array, at: number): boolean {
  // "Exif\0\0"
  return bytes[at] === 0x45 && bytes[at + 1] === 0x78 && bytes[at + 2] === 0x69 &&
    bytes[at + 3] === 0x66 && bytes[at + 4] === 0 && bytes[at + 5] === 0;
}

function orientationFromTiff(view: DataView, tiff: number, end: number): number {
  if (tiff + 8 > end) return 1;
  const order = view.getUint16(tiff);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const le = order === 0x4949;
  if (view.getUint16(tiff + 2, le) !== 42) return 1;
  const ifd = tiff + view.getUint32(tiff + 4, le);
  if (ifd + 2 > end) return 1;
  const count = view.getUint16(ifd, le);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > end) return 1;
    if (view.getUint16(entry, le) !== 0x0112) continue;
    const type = view.getUint16(entry + 2, le);
    // SHORT (3) is what the standard says; some writers use LONG (4).
    const value = type === 4 ? view.getUint32(entry + 8, le) : view.getUint16(entry + 8, le);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/**
 * Turns stored pixels upright for an EXIF orientation: 2 mirror, 3 rotate 180°, 4 flip,
 * 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise.
 * Orientations 5–8 swap width and height.
 *
 * @param img stored pixels, HWC RGB u8 (not modified)
 * @param orientation the EXIF value, 1…8
 * @returns the upright image (the input itself for orientation 1)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyOrientation } from "./exif.ts";
 * // 2×1 image: red, blue. Rotating 90° clockwise gives a 1×2 image: red on top.
 * const img = { width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 0, 255]) };
 * const up = applyOrientation(img, 6);
 * assert.deepEqual([up.width, up.height, ...up.data], [1, 2, 255, 0, 0, 0, 0, 255]);
 * ```
 */
export function applyOrientation(img: RgbImage, orientation: number): RgbImage {
  if (orientation === 1) return img;
  if (!Number.isInteger(orientation) || orientation < 1 || orientation > 8) {
    throw new RangeError(`Cannot orient image: orientation must be 1…8, got ${orientation}`);
  }
  const { width: w, height: h } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w, oh = swap ? w : h;
  const data = new Uint8Array(ow * oh * 3);
  // For each output pixel (x, y), the stored pixel (sx, sy) it comes from.
  const source: (x: number, y: number) => [number, number] = {
    2: (x: number, y: number) => [w - 1 - x, y],
    3: (x: number, y: number) => [w - 1 - x, h - 1 - y],
    4: (x: number, y: number) => [x, h - 1 - y],
    5: (x: number, y: number) => [y, x],
    6: (x: number, y: number) => [y, h - 1 - x],
    7: (x: number, y: number) => [w - 1 - y, h - 1 - x],
    8: (x: number, y: number) => [w - 1 - y, x],
  }[orientation] as (x: number, y: number) => [number, number];
  let o = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [sx, sy] = source(x, y);
      const i = 3 * (sy * w + sx);
      data[o++] = img.data[i];
      data[o++] = img.data[i + 1];
      data[o++] = img.data[i + 2];
    }
  }
  return { width: ow, height: oh, data };
}
