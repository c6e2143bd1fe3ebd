/**
 * Images for the detector: decode (JPEG, PNG), encode, the OpenCV-exact resize, drawing.
 * The entry point re-exporting `image_codec.ts`, `resize.ts`, `exif.ts` and `draw.ts`.
 *
 * All images are {@link RgbImage}: 8-bit RGB, row-major HWC.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage, encodePng, resizeBilinearCv2 } from "./image.ts";
 * const img = { width: 4, height: 2, data: new Uint8Array(24).fill(200) };
 * const small = resizeBilinearCv2(await decodeImage(await encodePng(img), "a.png"), 2, 1);
 * assert.deepEqual([...small.data], [200, 200, 200, 200, 200, 200]);
 * ```
 *
 * @module
 */
export type { RgbImage } from "./types.ts";
export {
  type DecodedImage,
  decodeImage,
  describeReadError,
  encodeJpeg,
  encodePng,
  inspectImage,
  readFileBytes,
  readImage,
  writeImage,
} from "./image_codec.ts";
export { resizeBilinearCv2 } from "./resize.ts";
export { applyOrientation, readJpegOrientation } from "./exif.ts";
export { type DrawBox, drawDetections, type DrawOptions } from "./draw.ts";
