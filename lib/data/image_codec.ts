/**
 * Reading and writing image files as 8-bit RGB: JPEG and PNG in, PNG and JPEG out.
 *
 * Decoding follows `cv2.imread(path, IMREAD_COLOR)` so that pixels match Python pipelines:
 * - grey images are replicated to three channels;
 * - alpha is dropped (colour channels as stored, not composited on any background);
 * - 16-bit PNGs keep the high byte (`v >> 8`);
 * - a JPEG's EXIF orientation is applied, so width and height are those of the upright picture;
 * - JPEGs (baseline, progressive, grey) are decoded by libjpeg-turbo's code (`jpeg_codec.ts`),
 *   giving OpenCV's pixels bit for bit on the UltraFace photos (`fixtures/image/ultraface.json`);
 *   PNGs (grey, palette, alpha, 16-bit) by imagescript.
 *
 * @module
 */
import { Image } from "imagescript";
import { FileError } from "../errors.ts";
import { applyOrientation, readJpegOrientation } from "./exif.ts";
import { probeImageSize } from "./image_size.ts";
import { decodeJpegRgb, encodeJpegRgb, type JpegDecodeResult } from "./jpeg_codec.ts";
import { encodePngRgb } from "./png_encode.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { describeFsError } from "../io/read.ts";
import type { RgbImage } from "./types.ts";

/**
 * Most pixels an image may have: Pillow's decompression-bomb limit (2 × 89,478,485). A header
 * can claim 65535×65535 in a few bytes; the decoders would try to allocate 17 GB for it.
 */
const MAX_PIXELS = 178_956_970;

function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/**
 * Whether a JPEG has its EOI marker after the image data: FF D9 after the first SOS (inside
 * entropy-coded data an FF is always followed by 00 or a restart marker, so this is EOI, and
 * an EXIF thumbnail's own EOI, before the SOS, does not count). Bytes after EOI are allowed,
 * as libjpeg and OpenCV ignore them.
 */
function hasJpegEnd(b: Uint8Array): boolean {
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const marker = b[p + 1];
    if (marker === 0xda) {
      for (let i = p + 2; i + 1 < b.length; i++) {
        if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
      }
      return false;
    }
    if (marker === 0xff) p++;
    else if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) p += 2;
    else p += 2 + ((b[p + 2] << 8) | b[p + 3]);
  }
  return false;
}

/** Whether a PNG's last chunk is IEND. */
function hasPngEnd(b: Uint8Array): boolean {
  const n = b.length;
  return n >= 12 && b[n - 8] === 0x49 && b[n - 7] === 0x45 && b[n - 6] === 0x4e &&
    b[n - 5] === 0x44;
}

/** imagescript's RGBA bitmap → RGB, dropping alpha. */
function dropAlpha(bitmap: Uint8Array | Uint8ClampedArray, width: number, height: number) {
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    data[3 * i] = bitmap[j];
    data[3 * i + 1] = bitmap[j + 1];
    data[3 * i + 2] = bitmap[j + 2];
  }
  return data;
}

/** Decoded pixels and the decoder's warnings about the file. */
export interface DecodedImage {
  /** HWC RGB u8, upright. */
  image: RgbImage;
  /** What the decoder noticed but decoded anyway (libjpeg's "Corrupt JPEG data: …"). */
  warnings: string[];
}

/**
 * Decodes a JPEG or PNG file's bytes to RGB like {@link decodeImage}, and also returns the
 * decoder's warnings (for `ssd data check`).
 *
 * @throws FileError as {@link decodeImage}
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeJpeg, inspectImage } from "./image_codec.ts";
 * const jpg = await encodeJpeg({ width: 16, height: 16, data: new Uint8Array(768).fill(50) });
 * const { image, warnings } = await inspectImage(jpg, "a.jpg");
 * assert.deepEqual([image.width, image.height, warnings], [16, 16, []]);
 * ```
 */
export async function inspectImage(bytes: Uint8Array, file: string): Promise<DecodedImage> {
  const size = probeImageSize(bytes);
  if (size !== undefined && (size.width === 0 || size.height === 0)) {
    throw new FileError(file, `the header says ${size.width}×${size.height} pixels: no image`);
  }
  if (size !== undefined && size.width * size.height > MAX_PIXELS) {
    throw new FileError(
      file,
      `${size.width}×${size.height} pixels is too large to decode (at most ${MAX_PIXELS} pixels, ` +
        "as Pillow's decompression-bomb limit)",
    );
  }
  if (isJpeg(bytes)) {
    let decoded: JpegDecodeResult;
    try {
      decoded = await decodeJpegRgb(bytes);
    } catch (err) {
      const ended = hasJpegEnd(bytes) || (bytes.at(-2) === 0xff && bytes.at(-1) === 0xd9);
      throw new FileError(
        file,
        !ended
          ? "truncated JPEG (the file ends before the image data does)"
          : /unsupported color conversion/i.test((err as Error).message)
          ? "CMYK/YCCK JPEG: only RGB and greyscale JPEGs are supported (convert it to RGB)"
          : `corrupt JPEG (${(err as Error).message})`,
        { cause: err },
      );
    }
    if (!hasJpegEnd(bytes) || decoded.warnings.some((w) => /premature end/i.test(w))) {
      throw new FileError(file, "truncated JPEG (the file ends before the image data does)");
    }
    const image = applyOrientation(decoded.image, readJpegOrientation(bytes));
    return { image, warnings: decoded.warnings };
  }
  if (isPng(bytes)) {
    let decoded: Image;
    try {
      decoded = await Image.decode(bytes) as Image;
    } catch (err) {
      throw new FileError(
        file,
        hasPngEnd(bytes)
          ? `corrupt PNG (${(err as Error).message})`
          : "truncated PNG (the file ends before the image data does)",
        { cause: err },
      );
    }
    const data = dropAlpha(decoded.bitmap, decoded.width, decoded.height);
    return { image: { width: decoded.width, height: decoded.height, data }, warnings: [] };
  }
  throw new FileError(file, bytes.length === 0 ? "empty file" : "not a JPEG or PNG image");
}

/**
 * Decodes a JPEG or PNG file's bytes to RGB (see the module notes for grey, alpha, 16-bit and
 * EXIF orientation).
 *
 * @param bytes the whole file
 * @param file the file's name, used in errors
 * @returns HWC RGB u8, upright
 * @throws FileError `not a JPEG or PNG image`, `empty file`, `truncated JPEG (…)`,
 *   `corrupt JPEG (…)`, `truncated PNG (…)`, `corrupt PNG (…)`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage, encodePng } from "./image_codec.ts";
 * const img = { width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 0, 255]) };
 * assert.deepEqual(await decodeImage(await encodePng(img), "x.png"), img);
 * await assert.rejects(decodeImage(new TextEncoder().encode("hello"), "x.png"),
 *   { message: "x.png: not a JPEG or PNG image" });
 * ```
 */
export async function decodeImage(bytes: Uint8Array, file: string): Promise<RgbImage> {
  return (await inspectImage(bytes, file)).image;
}

/** Reads a file's bytes, turning OS errors into one-line {@link FileError}s. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new FileError(path, describeReadError(err), { cause: err });
  }
}

/** A short reason for a failed read: `no such file`, `permission denied`, `is a directory`. */
export function describeReadError(err: unknown): string {
  return describeFsError(err);
}

/**
 * Reads and decodes a JPEG or PNG file.
 *
 * @param path the file
 * @returns HWC RGB u8, upright
 * @throws FileError when the file cannot be read or is not a decodable JPEG or PNG
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readImage } from "./image_codec.ts";
 * await assert.rejects(readImage("no/such.jpg"), { message: "no/such.jpg: no such file" });
 * ```
 */
export async function readImage(path: string): Promise<RgbImage> {
  return await decodeImage(await readFileBytes(path), path);
}

function checkImage(img: RgbImage, what: string): void {
  if (
    !Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 ||
    img.height < 1 || img.data.length !== img.width * img.height * 3
  ) {
    throw new RangeError(
      `Cannot ${what}: expected a W×H×3 RGB image with W, H ≥ 1, got ${img.width}×${img.height} with ${img.data.length} bytes`,
    );
  }
}

/**
 * Encodes an RGB image as PNG (8-bit truecolour, adaptive filters, deterministic bytes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePng } from "./image_codec.ts";
 * const png = await encodePng({ width: 1, height: 1, data: new Uint8Array([9, 9, 9]) });
 * assert.equal(png[0], 0x89);
 * ```
 */
export function encodePng(img: RgbImage): Promise<Uint8Array> {
  checkImage(img, "encode PNG");
  return Promise.resolve(encodePngRgb(img));
}

/**
 * Encodes an RGB image as baseline JPEG.
 *
 * @param img HWC RGB u8
 * @param quality 1…100 (default 90)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeJpeg } from "./image_codec.ts";
 * const jpg = await encodeJpeg({ width: 8, height: 8, data: new Uint8Array(192).fill(128) });
 * assert.deepEqual([...jpg.subarray(0, 3)], [0xff, 0xd8, 0xff]);
 * ```
 */
export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Uint8Array> {
  checkImage(img, "encode JPEG");
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RangeError(`Cannot encode JPEG: quality must be an integer 1…100, got ${quality}`);
  }
  return await encodeJpegRgb(img, quality);
}

/**
 * Writes an image by its extension (`.png`, `.jpg`, `.jpeg`, any case) to a temporary name
 * beside the target, then renames it, so a reader never sees a half-written file.
 *
 * @throws FileError for another extension or when the file cannot be written
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readImage, writeImage } from "./image_codec.ts";
 * const dir = await Deno.makeTempDir();
 * const img = { width: 3, height: 2, data: new Uint8Array(18).map((_, i) => i * 10) };
 * await writeImage(`${dir}/a.png`, img);
 * assert.deepEqual(await readImage(`${dir}/a.png`), img);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeImage(path: string, img: RgbImage): Promise<void> {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  let bytes: Uint8Array;
  if (ext === "png") bytes = await encodePng(img);
  else if (ext === "jpg" || ext === "jpeg") bytes = await encodeJpeg(img);
  else throw new FileError(path, "unsupported image type (use .png, .jpg or .jpeg)");
  await writeFileAtomic(path, bytes);
}
