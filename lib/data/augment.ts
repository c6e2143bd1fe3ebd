/**
 * The SSD paper's training augmentation (§2.2 "Data augmentation", and the expansion trick of
 * §3.6), on 8-bit images and pixel boxes, in torchvision's `ssd` preset order:
 * photometric distortion → zoom-out → min-IoU patch crop → horizontal flip.
 *
 * Boxes are pixel `xyxy` (`[x1, y1, x2, y2]`, 0-based, continuous: a box covering pixel
 * columns 0…9 is `[0, …, 10, …]`). Every step returns new arrays and never changes its
 * input. All randomness comes from the `rng` passed in, so a seed fixes the output.
 *
 * @module
 */
import type { RgbImage } from "./types.ts";
import type { Rng } from "./rng.ts";
import { photometricDistort } from "./photometric.ts";

export { photometricDistort } from "./photometric.ts";

/** A pixel box `[x1, y1, x2, y2]`. */
export type BoxPx = [number, number, number, number];

/** An image with its pixel boxes and their labels (`boxesPx[i]` has label `labels[i]`). */
export interface AugSample {
  /** The (augmented) image. */
  image: RgbImage;
  /** `[N]` pixel boxes `xyxy` in `image`, each with `x1 < x2` and `y1 < y2`. */
  boxesPx: BoxPx[];
  /** `[N]` labels, carried through unchanged (the loader passes 1-based class labels). */
  labels: number[];
}

/** What {@link augmentSample} does; every step is on by default. */
export interface AugmentOptions {
  /** Canvas fill of the zoom-out, RGB in 0–255 (rounded). Default ImageNet's `[124, 116, 104]`. */
  mean?: [number, number, number];
  /** Largest canvas side as a multiple of the image side (4 → up to 16× the area, as the paper); 1 turns zoom-out off. */
  zoomOut?: number;
  /** Photometric distortion (brightness, contrast, saturation, hue). */
  photometric?: boolean;
  /** Horizontal flip with probability 0.5. */
  flip?: boolean;
  /** The min-IoU patch sampler. */
  crop?: boolean;
}

/** Options of {@link zoomOut}. */
export interface ZoomOutOptions {
  /** Fill colour, RGB 0–255. Default `[124, 116, 104]`. */
  mean?: [number, number, number];
  /** Largest canvas side factor. Default 4. */
  maxSide?: number;
  /** Probability of zooming out at all. Default 0.5. */
  p?: number;
}

/**
 * Options of {@link randomIouCrop}; defaults are the paper's. The SSD authors' Caffe config
 * (`ssd_pascal.py`) and torchvision's `RandomIoUCrop` draw patch sides from [0.3, 1] instead;
 * fine-tuning `raccoon` with 0.3 scored no better on held-out photos (weights/README.md).
 */
export interface IouCropOptions {
  /** Patch side range as a fraction of the image side. Default [0.1, 1]. */
  scale?: [number, number];
  /** Patch aspect range (width / height in pixels). Default [0.5, 2]. */
  aspect?: [number, number];
  /** Tries per chosen minimum IoU before choosing again. Default 50. */
  trials?: number;
}

const IMAGENET_MEAN: [number, number, number] = [124, 116, 104];
/** `null` = keep the whole image; 0 = a random patch; else the minimum IoU with some object. */
const SAMPLER_OPTIONS = [null, 0.1, 0.3, 0.5, 0.7, 0.9, 0] as const;

/**
 * Put the image at a random place on a larger canvas filled with the mean colour (the paper's
 * "zoom out" expansion): canvas side = image side × r, r uniform in `[1, maxSide]`. Boxes move
 * with the image and keep their size, so they cover the same pixels as before.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zoomOut } from "./augment.ts";
 * import { makeRng } from "./rng.ts";
 * const image = { width: 2, height: 2, data: new Uint8Array(12).fill(255) };
 * const out = zoomOut({ image, boxesPx: [[0, 0, 2, 2]], labels: [1] }, makeRng(0), { p: 1 });
 * assert.ok(out.image.width >= 2 && out.image.width <= 8);
 * const [x1, y1, x2, y2] = out.boxesPx[0];
 * assert.equal(x2 - x1, 2);
 * assert.equal(y2 - y1, 2);
 * ```
 */
export function zoomOut(sample: AugSample, rng: Rng, opts: ZoomOutOptions = {}): AugSample {
  const maxSide = opts.maxSide ?? 4;
  if (!(maxSide >= 1)) throw new RangeError(`Cannot zoom out: maxSide must be ≥ 1, got ${maxSide}`);
  if (rng() >= (opts.p ?? 0.5)) return sample;
  const { width: w, height: h, data } = sample.image;
  const r = 1 + (maxSide - 1) * rng();
  const cw = Math.floor(w * r), ch = Math.floor(h * r);
  const left = Math.floor((cw - w) * rng()), top = Math.floor((ch - h) * rng());
  const fill = (opts.mean ?? IMAGENET_MEAN).map((v) => Math.min(255, Math.max(0, Math.round(v))));
  const out = new Uint8Array(cw * ch * 3);
  out.set(fill);
  // The fill colour doubled by copies (memcpy speed) instead of written pixel by pixel.
  for (let n = 3; n < out.length; n *= 2) out.copyWithin(n, 0, Math.min(n, out.length - n));
  for (let y = 0; y < h; y++) {
    out.set(data.subarray(y * w * 3, (y + 1) * w * 3), ((y + top) * cw + left) * 3);
  }
  return {
    image: { width: cw, height: ch, data: out },
    boxesPx: sample.boxesPx.map(([x1, y1, x2, y2]) => [x1 + left, y1 + top, x2 + left, y2 + top]),
    labels: sample.labels.slice(),
  };
}

/** The pixels of `image` inside the integer rectangle `[left, top, left + w, top + h)`. */
function cropImage(image: RgbImage, left: number, top: number, w: number, h: number): RgbImage {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const from = ((y + top) * image.width + left) * 3;
    out.set(image.data.subarray(from, from + w * 3), y * w * 3);
  }
  return { width: w, height: h, data: out };
}

function iou(a: BoxPx, b: BoxPx): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/**
 * The paper's patch sampler. Chooses uniformly among: the whole image; a patch whose IoU with
 * some object (among those whose centre it holds) is at least 0.1, 0.3, 0.5, 0.7 or 0.9; a
 * random patch. A patch has sides of `scale` × the image sides (integers) and aspect in
 * `aspect`; the chosen constraint gets `trials` tries, then the choice is made again. A box is
 * kept when its centre lies strictly inside the patch, and is clipped to the patch. Patches
 * must keep at least one box when the image has any (as torchvision's `RandomIoUCrop`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomIouCrop } from "./augment.ts";
 * import { makeRng } from "./rng.ts";
 * const image = { width: 100, height: 80, data: new Uint8Array(100 * 80 * 3) };
 * const out = randomIouCrop({ image, boxesPx: [[10, 10, 60, 50]], labels: [2] }, makeRng(4));
 * for (const [x1, y1, x2, y2] of out.boxesPx) {
 *   assert.ok(0 <= x1 && x1 < x2 && x2 <= out.image.width);
 *   assert.ok(0 <= y1 && y1 < y2 && y2 <= out.image.height);
 * }
 * ```
 */
export function randomIouCrop(sample: AugSample, rng: Rng, opts: IouCropOptions = {}): AugSample {
  const [s0, s1] = opts.scale ?? [0.1, 1];
  const [a0, a1] = opts.aspect ?? [0.5, 2];
  const trials = opts.trials ?? 50;
  const { width: w, height: h } = sample.image;
  const boxes = sample.boxesPx;
  // Bounded (torchvision loops until it succeeds); the whole image is chosen long before.
  for (let round = 0; round < 1000; round++) {
    const minIou = SAMPLER_OPTIONS[Math.floor(rng() * SAMPLER_OPTIONS.length)];
    if (minIou === null) return sample;
    for (let t = 0; t < trials; t++) {
      const pw = Math.floor(w * (s0 + (s1 - s0) * rng()));
      const ph = Math.floor(h * (s0 + (s1 - s0) * rng()));
      if (pw < 1 || ph < 1 || pw / ph < a0 || pw / ph > a1) continue;
      const left = Math.floor((w - pw) * rng()), top = Math.floor((h - ph) * rng());
      const right = left + pw, bottom = top + ph;
      const inside = boxes.map(([x1, y1, x2, y2]) => {
        const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
        return left < cx && cx < right && top < cy && cy < bottom;
      });
      const kept = boxes.filter((_, i) => inside[i]);
      if (boxes.length > 0 && kept.length === 0) continue;
      const patch: BoxPx = [left, top, right, bottom];
      if (kept.length > 0 && Math.max(...kept.map((b) => iou(b, patch))) < minIou) continue;
      if (boxes.length === 0 && minIou > 0) continue;
      return {
        image: cropImage(sample.image, left, top, pw, ph),
        boxesPx: kept.map(([x1, y1, x2, y2]) => [
          Math.min(Math.max(x1 - left, 0), pw),
          Math.min(Math.max(y1 - top, 0), ph),
          Math.min(Math.max(x2 - left, 0), pw),
          Math.min(Math.max(y2 - top, 0), ph),
        ]),
        labels: sample.labels.filter((_, i) => inside[i]),
      };
    }
  }
  return sample;
}

/**
 * Mirror the image left–right: `x1' = W − x2`, `x2' = W − x1`. Flipping twice gives back the
 * input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hflip } from "./augment.ts";
 * const image = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
 * const out = hflip({ image, boxesPx: [[0, 0, 1, 1]], labels: [1] });
 * assert.deepEqual([...out.image.data], [4, 5, 6, 1, 2, 3]);
 * assert.deepEqual(out.boxesPx, [[1, 0, 2, 1]]);
 * ```
 */
export function hflip(sample: AugSample): AugSample {
  const { width: w, height: h, data } = sample.image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    for (let x = 0; x < w; x++) {
      const from = row + x * 3, to = row + (w - 1 - x) * 3;
      out[to] = data[from];
      out[to + 1] = data[from + 1];
      out[to + 2] = data[from + 2];
    }
  }
  return {
    image: { width: w, height: h, data: out },
    boxesPx: sample.boxesPx.map(([x1, y1, x2, y2]) => [w - x2, y1, w - x1, y2]),
    labels: sample.labels.slice(),
  };
}

/**
 * The whole training augmentation of one image. Boxes are first clipped to the image (boxes
 * wholly outside are dropped); the returned boxes are valid (`x1 < x2`, `y1 < y2`) and inside
 * the returned image. `boxesPx` and `labels` must have the same length; a box with a
 * non-finite coordinate or `x2 ≤ x1` / `y2 ≤ y1` is a `RangeError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { augmentSample } from "./augment.ts";
 * import { makeRng } from "./rng.ts";
 * const img = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(90) };
 * const a = augmentSample(img, [[8, 8, 40, 30]], [3], makeRng(12));
 * const b = augmentSample(img, [[8, 8, 40, 30]], [3], makeRng(12));
 * assert.deepEqual(a, b);
 * assert.equal(a.image.data.length, a.image.width * a.image.height * 3);
 * assert.equal(a.boxesPx.length, a.labels.length);
 * ```
 */
export function augmentSample(
  img: RgbImage,
  boxesPx: BoxPx[],
  labels: number[],
  rng: Rng,
  opts: AugmentOptions = {},
): AugSample {
  if (boxesPx.length !== labels.length) {
    throw new RangeError(
      `Cannot augment: boxesPx and labels must have the same length, got ${boxesPx.length} and ${labels.length}`,
    );
  }
  const { width: w, height: h } = img;
  if (img.data.length !== w * h * 3) {
    throw new TypeError(
      `Cannot augment: image data must have length width·height·3 = ${
        w * h * 3
      }, got ${img.data.length}`,
    );
  }
  let sample: AugSample = { image: img, boxesPx: [], labels: [] };
  boxesPx.forEach((box, i) => {
    const [x1, y1, x2, y2] = box;
    if (!box.every(Number.isFinite) || !(x2 > x1) || !(y2 > y1)) {
      throw new RangeError(`Cannot augment: box ${i} must have x1 < x2 and y1 < y2, got [${box}]`);
    }
    const c: BoxPx = [Math.max(x1, 0), Math.max(y1, 0), Math.min(x2, w), Math.min(y2, h)];
    if (c[2] > c[0] && c[3] > c[1]) {
      sample.boxesPx.push(c);
      sample.labels.push(labels[i]);
    }
  });
  if (opts.photometric ?? true) sample = { ...sample, image: photometricDistort(img, rng) };
  if ((opts.zoomOut ?? 4) > 1) {
    sample = zoomOut(sample, rng, { mean: opts.mean, maxSide: opts.zoomOut ?? 4 });
  }
  if (opts.crop ?? true) sample = randomIouCrop(sample, rng);
  if ((opts.flip ?? true) && rng() < 0.5) sample = hflip(sample);
  return sample;
}
