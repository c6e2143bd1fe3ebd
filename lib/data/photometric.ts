/**
 * Photometric distortion of the SSD paper's training pipeline (Caffe's `DistortImage`, in the
 * order of torchvision's `RandomPhotometricDistort`): brightness, contrast (before or after),
 * saturation, hue, each applied with probability 0.5.
 *
 * The colour steps work on float RGB in `[0, 1]` (`Float32Array`, HWC, length `3·H·W`) and
 * clamp to `[0, 1]` after each step, as torchvision's tensor functions do on float images;
 * contrast, saturation and hue use torchvision's formulas (grey = 0.2989 R + 0.587 G +
 * 0.114 B; hue through HSV). Brightness is Caffe's additive delta (±32 of 255), not
 * torchvision's factor. The random channel swap of ssd.pytorch is left out, as in the paper's
 * Caffe config (`random_order_prob: 0`).
 *
 * @module
 */
import type { RgbImage } from "./types.ts";
import type { Rng } from "./rng.ts";

/** Ranges of the random distortion; the defaults are the paper's Caffe `distort_param`. */
export interface PhotometricOptions {
  /** Probability of each of the four steps. Default 0.5. */
  p?: number;
  /** Largest brightness delta, in 0–255 units. Default 32. */
  brightness?: number;
  /** Contrast factor range. Default [0.5, 1.5]. */
  contrast?: [number, number];
  /** Saturation factor range. Default [0.5, 1.5]. */
  saturation?: [number, number];
  /** Largest hue shift in degrees. Default 18 (torchvision hue factor 0.05). */
  hueDegrees?: number;
}

const clamp01 = (x: number) => x < 0 ? 0 : x > 1 ? 1 : x;

/** `v / 255` in float32 for every byte: what storing the division in a Float32Array gives. */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);
const grey = (r: number, g: number, b: number) => 0.2989 * r + 0.587 * g + 0.114 * b;

// The colour steps, in place on floats in [0, 1] (one tight loop each: fastest in V8).

function brightnessInPlace(rgb: Float32Array, delta: number): void {
  for (let i = 0; i < rgb.length; i++) rgb[i] = clamp01(rgb[i] + delta);
}

function contrastInPlace(rgb: Float32Array, factor: number): void {
  let sum = 0;
  for (let i = 0; i < rgb.length; i += 3) sum += grey(rgb[i], rgb[i + 1], rgb[i + 2]);
  const mean = rgb.length > 0 ? sum / (rgb.length / 3) : 0;
  const offset = (1 - factor) * mean;
  for (let i = 0; i < rgb.length; i++) rgb[i] = clamp01(factor * rgb[i] + offset);
}

function saturationInPlace(rgb: Float32Array, factor: number): void {
  for (let i = 0; i < rgb.length; i += 3) {
    const l = (1 - factor) * grey(rgb[i], rgb[i + 1], rgb[i + 2]);
    rgb[i] = clamp01(factor * rgb[i] + l);
    rgb[i + 1] = clamp01(factor * rgb[i + 1] + l);
    rgb[i + 2] = clamp01(factor * rgb[i + 2] + l);
  }
}

function hueInPlace(rgb: Float32Array, hueFactor: number): void {
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
    const maxc = Math.max(r, g, b), minc = Math.min(r, g, b);
    const cr = maxc - minc;
    const s = cr / (cr === 0 ? 1 : maxc);
    const div = cr === 0 ? 1 : cr;
    const rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
    let h = maxc === r ? bc - gc : maxc === g ? 2 + rc - bc : 4 + gc - rc;
    // torchvision's (h / 6 + 1) % 1, then (h + hueFactor) % 1 into [0, 1): x − floor(x) gives
    // the same numbers (exact for x ≥ 0; x + 1 for x in (−1, 0), as % then + 1 did) without
    // V8's slow floating-point %.
    h = h / 6 + 1;
    h -= Math.floor(h);
    h += hueFactor;
    h -= Math.floor(h);
    const sector = Math.floor(h * 6);
    const f = h * 6 - sector;
    const v = maxc;
    const p = clamp01(v * (1 - s)), q = clamp01(v * (1 - s * f));
    const t = clamp01(v * (1 - s * (1 - f)));
    // torchvision _hsv2rgb, sector by sector
    switch (sector % 6) {
      case 0:
        rgb[i] = v, rgb[i + 1] = t, rgb[i + 2] = p;
        break;
      case 1:
        rgb[i] = q, rgb[i + 1] = v, rgb[i + 2] = p;
        break;
      case 2:
        rgb[i] = p, rgb[i + 1] = v, rgb[i + 2] = t;
        break;
      case 3:
        rgb[i] = p, rgb[i + 1] = q, rgb[i + 2] = v;
        break;
      case 4:
        rgb[i] = t, rgb[i + 1] = p, rgb[i + 2] = v;
        break;
      default:
        rgb[i] = v, rgb[i + 1] = p, rgb[i + 2] = q;
    }
  }
}

/**
 * Add `delta` (in `[0, 1]` units) to every channel, clamped to `[0, 1]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adjustBrightness } from "./photometric.ts";
 * assert.deepEqual([...adjustBrightness(new Float32Array([0.5, 0.95, 0]), 0.25)], [0.75, 1, 0.25]);
 * ```
 */
export function adjustBrightness(rgb: Float32Array, delta: number): Float32Array {
  const out = rgb.slice();
  brightnessInPlace(out, delta);
  return out;
}

/**
 * Blend with the image's mean grey level: `factor·x + (1 − factor)·mean(grey)`, clamped
 * (torchvision `adjust_contrast`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adjustContrast } from "./photometric.ts";
 * const out = adjustContrast(new Float32Array([0.2, 0.2, 0.2, 0.6, 0.6, 0.6]), 0);
 * // factor 0: every value becomes the mean grey, 0.4·0.9999 (the grey weights sum to 0.9999)
 * assert.ok(Math.abs(out[0] - 0.39996) < 1e-6 && Math.abs(out[5] - 0.39996) < 1e-6);
 * ```
 */
export function adjustContrast(rgb: Float32Array, factor: number): Float32Array {
  const out = rgb.slice();
  contrastInPlace(out, factor);
  return out;
}

/**
 * Blend each pixel with its own grey level: `factor·x + (1 − factor)·grey(x)`, clamped
 * (torchvision `adjust_saturation`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adjustSaturation } from "./photometric.ts";
 * const out = adjustSaturation(new Float32Array([1, 0, 0]), 0);
 * assert.ok(out.every((v) => Math.abs(v - 0.2989) < 1e-6));
 * ```
 */
export function adjustSaturation(rgb: Float32Array, factor: number): Float32Array {
  const out = rgb.slice();
  saturationInPlace(out, factor);
  return out;
}

/**
 * Rotate hue by `hueFactor` turns (`0.05` = 18°) through HSV, as torchvision `adjust_hue`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adjustHue } from "./photometric.ts";
 * const out = adjustHue(new Float32Array([1, 0, 0]), 1 / 3); // red → green
 * assert.deepEqual([...out].map((v) => Math.round(v * 1e6) / 1e6), [0, 1, 0]);
 * ```
 */
export function adjustHue(rgb: Float32Array, hueFactor: number): Float32Array {
  const out = rgb.slice();
  hueInPlace(out, hueFactor);
  return out;
}

/**
 * Random photometric distortion of an 8-bit image (a new image; the input is unchanged).
 * Draws, in order: brightness, contrast-first coin, contrast, saturation, hue, contrast (if
 * last); each step runs with probability `p`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { photometricDistort } from "./photometric.ts";
 * import { makeRng } from "./rng.ts";
 * const img = { width: 2, height: 1, data: new Uint8Array([10, 20, 30, 200, 100, 50]) };
 * const a = photometricDistort(img, makeRng(1));
 * assert.deepEqual(a, photometricDistort(img, makeRng(1)));
 * assert.equal(a.data.length, 6);
 * ```
 */
export function photometricDistort(
  img: RgbImage,
  rng: Rng,
  opts: PhotometricOptions = {},
): RgbImage {
  const p = opts.p ?? 0.5;
  const delta = (opts.brightness ?? 32) / 255;
  const [c0, c1] = opts.contrast ?? [0.5, 1.5];
  const [s0, s1] = opts.saturation ?? [0.5, 1.5];
  const hue = (opts.hueDegrees ?? 18) / 360;
  const src = img.data;
  let rgb: Float32Array | undefined;
  // The float copy is made when the first step runs: with none (one draw in 16) the bytes are
  // the input's (every u8 survives ÷ 255 in float32 and × 255, rounded).
  const floats = () => {
    if (rgb === undefined) {
      rgb = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) rgb[i] = BYTE_TO_UNIT[src[i]];
    }
    return rgb;
  };
  const contrast = () => {
    if (rng() < p) contrastInPlace(floats(), c0 + (c1 - c0) * rng());
  };
  if (rng() < p) brightnessInPlace(floats(), delta * (2 * rng() - 1));
  const contrastFirst = rng() < 0.5;
  if (contrastFirst) contrast();
  if (rng() < p) saturationInPlace(floats(), s0 + (s1 - s0) * rng());
  if (rng() < p) hueInPlace(floats(), hue * (2 * rng() - 1));
  if (!contrastFirst) contrast();
  if (rgb === undefined) return { width: img.width, height: img.height, data: src.slice() };
  const data = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) data[i] = Math.round(rgb[i] * 255);
  return { width: img.width, height: img.height, data };
}
