/**
 * Image sizes from file headers (PNG IHDR, JPEG SOF), without decoding the pixels; JPEG sizes
 * are those of the upright picture (EXIF orientations 5–8 swap width and height).
 *
 * @module
 */
import { readJpegOrientation } from "./exif.ts";

/**
 * Reads the width and height of a PNG or JPEG from its header.
 *
 * @param bytes the file (or at least its beginning, through the JPEG SOF marker)
 * @returns the upright size, or `undefined` when the header is not a PNG or JPEG one
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeImageSize } from "./image_size.ts";
 * import { encodePng } from "./image_codec.ts";
 * const png = await encodePng({ width: 5, height: 3, data: new Uint8Array(45) });
 * assert.deepEqual(probeImageSize(png), { width: 5, height: 3 });
 * assert.equal(probeImageSize(new Uint8Array([1, 2, 3])), undefined);
 * ```
 */
export function probeImageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 24 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[12] === 0x49) {
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let p = 2;
  while (p + 9 < bytes.length) {
    if (bytes[p] !== 0xff) return undefined;
    const marker = bytes[p + 1];
    if (marker === 0xff) {
      p++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2;
      continue;
    }
    // SOF0…SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = view.getUint16(p + 5), width = view.getUint16(p + 7);
      return readJpegOrientation(bytes) >= 5 ? { width: height, height: width } : { width, height };
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    p += 2 + view.getUint16(p + 2);
  }
  return undefined;
}
