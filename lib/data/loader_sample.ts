/**
 * One training sample made ready for the model: decode, augment, resize, normalise. Shared by
 * the loader's main-thread path and its Web Workers (`loader_worker.ts`), so both give the
 * same numbers.
 *
 * @module
 */
import { type AugmentOptions, augmentSample, type BoxPx } from "./augment.ts";
import { readImage, resizeBilinearCv2 } from "./image.ts";
import { normalizeRgb } from "./normalize.ts";
import { makeRng } from "./rng.ts";
import type { RgbImage } from "./types.ts";

/** Everything needed to prepare one sample; plain data, so it can be posted to a worker. */
export interface SampleJob {
  imagePath: string;
  /** Pixel boxes `xyxy` of the decoded image. */
  boxesPx: BoxPx[];
  /** 1-based class labels, one per box. */
  labels: number[];
  /** Seed of this sample's augmentation. */
  seed: number;
  /** Output `[H, W]`. */
  imageSize: [number, number];
  /** Per-channel mean and std in 0–255 units: the output is `(x − mean) / std`. */
  mean: [number, number, number];
  std: [number, number, number];
  augment: boolean;
}

/** A prepared sample. */
export interface PreparedSample {
  /** `[H, W, 3]` normalised floats. */
  image: Float32Array;
  /** `[G, 4]` normalised `xyxy` boxes (of the augmented image, so also of the resized one). */
  boxes: Float32Array;
  /** `[G]` 1-based labels. */
  labels: Int32Array;
}

const NO_AUGMENT: AugmentOptions = { photometric: false, zoomOut: 1, crop: false, flip: false };

/**
 * Images whose longer side exceeds this multiple of the model's longer input side are shrunk to
 * it before augmenting (a phone's 4000×3000 photo to 1280×960 for a 320×240 model), as
 * ultralytics shrinks to its input size first: the paper's augmentation on 12 megapixels takes
 * seconds and its zoom-out canvas hundreds of megabytes, and the model sees 320 pixels either
 * way. Even the smallest crop (0.3 of each side) keeps the input's resolution. VOC's and COCO's
 * images (≤ 640 pixels) are never shrunk for any model here.
 */
export const MAX_SIDE_FACTOR = 4;

/** The decoded image and its boxes, shrunk (bilinear) to {@link MAX_SIDE_FACTOR} × the input. */
function shrinkLarge(
  image: RgbImage,
  job: SampleJob,
): { image: RgbImage; boxesPx: BoxPx[] } {
  const cap = MAX_SIDE_FACTOR * Math.max(...job.imageSize);
  const side = Math.max(image.width, image.height);
  if (side <= cap) return { image, boxesPx: job.boxesPx };
  const w = Math.max(1, Math.round(image.width * cap / side));
  const h = Math.max(1, Math.round(image.height * cap / side));
  const [sx, sy] = [w / image.width, h / image.height];
  return {
    image: resizeBilinearCv2(image, w, h),
    boxesPx: job.boxesPx.map(([x1, y1, x2, y2]) => [x1 * sx, y1 * sy, x2 * sx, y2 * sy]),
  };
}

/**
 * Decode, augment (when `job.augment`; otherwise boxes are only clipped to the image),
 * resize with OpenCV's bilinear arithmetic, and normalise one sample.
 *
 * @throws FileError when the image cannot be read or decoded; RangeError for a degenerate box
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareSample } from "./loader_sample.ts";
 * import { writeImage } from "./image.ts";
 * const dir = await Deno.makeTempDir();
 * await writeImage(`${dir}/a.png`, { width: 4, height: 2, data: new Uint8Array(24).fill(200) });
 * const s = await prepareSample({
 *   imagePath: `${dir}/a.png`, boxesPx: [[0, 0, 2, 2]], labels: [1], seed: 0, imageSize: [4, 4],
 *   mean: [100, 100, 100], std: [50, 50, 50], augment: false,
 * });
 * assert.deepEqual([...s.boxes], [0, 0, 0.5, 1]);
 * assert.ok(s.image.every((v) => v === 2)); // (200 − 100) / 50
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function prepareSample(job: SampleJob): Promise<PreparedSample> {
  const { image: decoded, boxesPx } = shrinkLarge(await readImage(job.imagePath), job);
  const aug = augmentSample(
    decoded,
    boxesPx,
    job.labels,
    makeRng(job.seed),
    job.augment ? { mean: job.mean } : NO_AUGMENT,
  );
  const [h, w] = job.imageSize;
  const { width: aw, height: ah } = aug.image;
  const resized = aw === w && ah === h ? aug.image : resizeBilinearCv2(aug.image, w, h);
  const image = normalizeRgb(resized, job); // [H, W, 3], (x − mean) / std
  const boxes = new Float32Array(aug.boxesPx.length * 4);
  aug.boxesPx.forEach(([x1, y1, x2, y2], g) =>
    boxes.set([x1 / aw, y1 / ah, x2 / aw, y2 / ah], g * 4)
  );
  return { image, boxes, labels: Int32Array.from(aug.labels) };
}
