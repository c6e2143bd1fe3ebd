/**
 * OpenCV's `cv2.resize(img, (width, height))` with the default `INTER_LINEAR` on uint8 RGB,
 * reproduced bit for bit (OpenCV 4.x, x86 build with 128-bit SIMD), because models trained or
 * converted from Python pipelines expect exactly those pixels: a float bilinear moves UltraFace
 * scores by up to 0.017 (`../shared/data/ultraface/ARCHITECTURE.md` §1).
 *
 * The arithmetic (OpenCV `imgproc/src/resize.cpp`):
 * - per axis, output index `d`: `f = float32((d + 0.5) * scale - 0.5)` with
 *   `scale = 1 / (dst / src)` in double; `s = floor(f)`, `f -= s`; weights
 *   `round_half_even((1 - f) * 2048)` and `round_half_even(f * 2048)`. Horizontally, `s < 0`
 *   gives `s = 0, f = 0` and `s >= src - 1` gives `s = src - 1, f = 0`; vertically the weights
 *   stay and only the row indices `s`, `s + 1` are clipped to the image (this differs from
 *   the clamped form only when enlarging, in the first and last rows);
 * - horizontal pass in integers: `R = src[s] * a0 + src[s + 1] * a1`;
 * - vertical pass, the same in the SIMD loop (`VResizeLinearVec_32s8u`) and in the scalar tail
 *   of OpenCV's uchar specialisation of `VResizeLinear`:
 *   `v = ((b0 * (R0 >> 4)) >> 16) + ((b1 * (R1 >> 4)) >> 16)`, output `(v + 2) >> 2`;
 * - exactly 2× smaller on both axes: OpenCV switches to `INTER_AREA`'s fast path,
 *   `(a + b + c + d + 2) >> 2`; the same size: a copy.
 *
 * @module
 */
import type { RgbImage } from "./types.ts";

/** OpenCV's `INTER_RESIZE_COEF_BITS`: weights are fixed point with 11 fraction bits. */
const COEF_SCALE = 2048;

/** Source index and the two fixed-point weights for each output index along one axis. */
interface AxisTable {
  s0: Int32Array;
  s1: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
}

function axisTable(src: number, dst: number, horizontal: boolean): AxisTable {
  const scale = 1 / (dst / src);
  const t: AxisTable = {
    s0: new Int32Array(dst),
    s1: new Int32Array(dst),
    w0: new Int32Array(dst),
    w1: new Int32Array(dst),
  };
  for (let d = 0; d < dst; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (horizontal) {
      // Only the horizontal table is clamped with its weight zeroed…
      if (s < 0) {
        s = 0;
        f = 0;
      }
      if (s >= src - 1) {
        s = src - 1;
        f = 0;
      }
    }
    // …the vertical one keeps its weights and clips the two row indices.
    t.s0[d] = Math.min(Math.max(s, 0), src - 1);
    t.s1[d] = Math.min(Math.max(s + 1, 0), src - 1);
    t.w0[d] = roundHalfEven(Math.fround(1 - f) * COEF_SCALE);
    t.w1[d] = roundHalfEven(f * COEF_SCALE);
  }
  return t;
}

/** `cvRound` / `lrint`: round to nearest, ties to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Resizes an RGB image as `cv2.resize(img, (width, height))` does (`INTER_LINEAR`, uint8):
 * a plain stretch (no aspect-ratio preservation), half-pixel centres, no antialiasing.
 *
 * @param img the source image, HWC RGB u8 (not modified)
 * @param width the output width in pixels (≥ 1)
 * @param height the output height in pixels (≥ 1)
 * @returns a new image of `width × height`
 * @throws RangeError when a size is not a positive integer
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeBilinearCv2 } from "./resize.ts";
 * // A 2×1 image [0, 255] (grey) stretched to 4×1: cv2 gives 0, 64, 191, 255.
 * const img = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 255, 255, 255]) };
 * const out = resizeBilinearCv2(img, 4, 1);
 * assert.deepEqual([...out.data.filter((_, i) => i % 3 === 0)], [0, 64, 191, 255]);
 * ```
 */
export function resizeBilinearCv2(img: RgbImage, width: number, height: number): RgbImage {
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Cannot resize: ${name} must be a positive integer, got ${v}`);
    }
  }
  if (img.data.length !== img.width * img.height * 3 || img.width < 1 || img.height < 1) {
    throw new RangeError(
      `Cannot resize: expected ${img.width}×${img.height}×3 = ${
        img.width * img.height * 3
      } bytes of RGB data, got ${img.data.length}`,
    );
  }
  if (width === img.width && height === img.height) {
    return { width, height, data: img.data.slice() };
  }
  if (img.width === 2 * width && img.height === 2 * height) return halve(img);
  return resizeLinear(img, width, height);
}

/** OpenCV's INTER_AREA fast path for an exact 2× reduction: the rounded mean of 2×2 blocks. */
function halve(img: RgbImage): RgbImage {
  const width = img.width / 2, height = img.height / 2;
  const src = img.data, rowBytes = img.width * 3;
  const data = new Uint8Array(width * height * 3);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const r0 = 2 * y * rowBytes, r1 = r0 + rowBytes;
    for (let x = 0; x < width; x++) {
      const c = 6 * x;
      for (let k = 0; k < 3; k++) {
        data[o++] = (src[r0 + c + k] + src[r0 + c + 3 + k] + src[r1 + c + k] +
          src[r1 + c + 3 + k] + 2) >> 2;
      }
    }
  }
  return { width, height, data };
}

function resizeLinear(img: RgbImage, width: number, height: number): RgbImage {
  const xs = axisTable(img.width, width, true);
  const ys = axisTable(img.height, height, false);
  const src = img.data, srcRow = img.width * 3, rowLen = width * 3;
  const data = new Uint8Array(rowLen * height);
  // Horizontal pass of one source row into R (Int32, fixed point × 2048); rows are cached
  // because consecutive output rows share source rows.
  const rows = new Map<number, Int32Array>();
  const hrow = (y: number): Int32Array => {
    let r = rows.get(y);
    if (r !== undefined) return r;
    r = new Int32Array(rowLen);
    const base = y * srcRow;
    for (let x = 0; x < width; x++) {
      const p0 = base + 3 * xs.s0[x], p1 = base + 3 * xs.s1[x];
      const a0 = xs.w0[x], a1 = xs.w1[x];
      r[3 * x] = src[p0] * a0 + src[p1] * a1;
      r[3 * x + 1] = src[p0 + 1] * a0 + src[p1 + 1] * a1;
      r[3 * x + 2] = src[p0 + 2] * a0 + src[p1 + 2] * a1;
    }
    rows.set(y, r);
    if (rows.size > 4) rows.delete(rows.keys().next().value!);
    return r;
  };
  for (let y = 0; y < height; y++) {
    const r0 = hrow(ys.s0[y]), r1 = hrow(ys.s1[y]);
    const b0 = ys.w0[y], b1 = ys.w1[y];
    const out = y * rowLen;
    for (let x = 0; x < rowLen; x++) {
      // _mm_mulhi_epi16 keeps the high 16 bits of the 32-bit product: an arithmetic >> 16.
      // b0 + b1 = 2048 and R ≤ 255 · 2048, so the result is already within 0…255.
      data[out + x] = (((b0 * (r0[x] >> 4)) >> 16) + ((b1 * (r1[x] >> 4)) >> 16) + 2) >> 2;
    }
  }
  return { width, height, data };
}
