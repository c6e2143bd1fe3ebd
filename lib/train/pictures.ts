/**
 * Pictures a person looks at while a model trains: a mosaic of a loader batch as the network
 * sees it (augmented, resized, with its target boxes), and detections drawn on a validation
 * image. Both are PNG files written atomically (`writeImage`).
 *
 * @module
 */
import type { Batch } from "../data/loader.ts";
import type { RgbImage } from "../data/types.ts";
import { blendText, type DrawBox, drawDetections } from "../data/draw.ts";
import { readImage, writeImage } from "../data/image_codec.ts";
import { renderText } from "../data/text.ts";
import type { DatasetDetection } from "../eval/dataset_eval.ts";

/** Options of {@link drawBatchMosaic}. */
export interface MosaicOptions {
  /** The normalization the loader applied, per RGB channel in 0…255 units (`config.preprocess`). */
  mean: readonly number[];
  std: readonly number[];
  /** Class names without background: label `l` is `classes[l − 1]`. */
  classes: readonly string[];
  /** The PNG file to write. */
  path: string;
  /** Tiles per row; default `ceil(√B)`. */
  columns?: number;
}

/** Pixels between tiles, and the height of the id strip under each tile. */
const GAP = 8, CAPTION = 20;
/** Tiles smaller than this (shorter side) are enlarged by a whole factor, pixel for pixel. */
const MIN_TILE = 320;

/** Image `b` of a batch back in RGB u8: `x · std + mean`, rounded and clamped to 0…255. */
function denormalize(batch: Batch, b: number, mean: readonly number[], std: readonly number[]) {
  const [h, w] = batch.size;
  const n = h * w * 3;
  const x = batch.images.subarray(b * n, (b + 1) * n); // [H, W, 3]
  const data = new Uint8ClampedArray(n); // clamps (and rounds half to even) on assignment
  for (let i = 0; i < n; i++) data[i] = x[i] * std[i % 3] + mean[i % 3];
  return { width: w, height: h, data: new Uint8Array(data.buffer) };
}

/** Nearest-neighbour enlargement by a whole factor `k` (every pixel becomes a k×k square). */
function enlarge(img: RgbImage, k: number): RgbImage {
  if (k === 1) return img;
  const width = img.width * k, height = img.height * k;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / k) * img.width;
    for (let x = 0; x < width; x++) {
      const s = 3 * (row + Math.floor(x / k)), d = 3 * (y * width + x);
      data[d] = img.data[s];
      data[d + 1] = img.data[s + 1];
      data[d + 2] = img.data[s + 2];
    }
  }
  return { width, height, data };
}

/** Copies `tile` into `dst` with its top-left corner at (left, top). */
function paste(dst: RgbImage, tile: RgbImage, left: number, top: number): void {
  for (let y = 0; y < tile.height; y++) {
    const from = 3 * y * tile.width;
    dst.data.set(
      tile.data.subarray(from, from + 3 * tile.width),
      3 * ((top + y) * dst.width + left),
    );
  }
}

/**
 * Draws a loader batch as one PNG grid: each image de-normalized back to RGB, its target boxes
 * framed with their class names, its sample id underneath. Images with a shorter side under
 * 320 px are enlarged 2× (3×, …) pixel for pixel so the labels stay readable.
 *
 * @param batch from `createLoader`: `images` `[B, H, W, 3]` float32 `(x − mean) / std`,
 *   per image `[G, 4]` normalized `xyxy` boxes and `[G]` 1-based labels
 * @param opts the normalization to undo, the class names, the output path, the columns
 * @throws RangeError when the batch's arrays disagree with each other or a label has no name
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { drawBatchMosaic } from "./pictures.ts";
 * const path = `${await Deno.makeTempDir()}/batch.png`;
 * const batch = {
 *   images: new Float32Array(2 * 40 * 40 * 3), size: [40, 40] as [number, number],
 *   boxes: [new Float32Array([0.1, 0.1, 0.8, 0.6]), new Float32Array(0)],
 *   labels: [new Int32Array([2]), new Int32Array(0)], ids: ["a", "b"],
 * };
 * await drawBatchMosaic(batch, { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5],
 *   classes: ["circle", "square"], path });
 * assert.ok((await Deno.stat(path)).size > 0);
 * ```
 */
export async function drawBatchMosaic(batch: Batch, opts: MosaicOptions): Promise<void> {
  const count = batch.ids.length;
  const [h, w] = batch.size;
  if (batch.images.length !== count * h * w * 3) {
    throw new RangeError(
      `Cannot draw a batch: images must hold B·H·W·3 = ${count}·${h}·${w}·3 values, got ${batch.images.length}`,
    );
  }
  if (batch.boxes.length !== count || batch.labels.length !== count) {
    throw new RangeError(
      `Cannot draw a batch: ${count} ids, ${batch.boxes.length} box arrays, ${batch.labels.length} label arrays`,
    );
  }
  const columns = opts.columns ?? Math.max(1, Math.ceil(Math.sqrt(count)));
  if (!(Number.isInteger(columns) && columns > 0)) {
    throw new RangeError(`Cannot draw a batch: columns must be a positive integer, got ${columns}`);
  }
  const k = Math.max(1, Math.floor(MIN_TILE / Math.min(h, w)));
  const tw = w * k, th = h * k;
  const rows = Math.max(1, Math.ceil(count / columns));
  const width = GAP + columns * (tw + GAP), height = GAP + rows * (th + CAPTION + GAP);
  const mosaic: RgbImage = { width, height, data: new Uint8Array(width * height * 3).fill(255) };
  for (let b = 0; b < count; b++) {
    const tile = await drawBatchImage(batch, b, opts);
    const left = GAP + (b % columns) * (tw + GAP),
      top = GAP + Math.floor(b / columns) * (th + CAPTION + GAP);
    paste(mosaic, tile, left, top);
    const id = batch.ids[b].length > 40 ? `…${batch.ids[b].slice(-39)}` : batch.ids[b];
    const caption = await renderText(`${id}  (${batch.labels[b].length})`, 12, 0x000000ff);
    blendText(mosaic, caption, left, top + th + Math.round((CAPTION - caption.height) / 2));
  }
  await writeImage(opts.path, mosaic);
}

/**
 * Image `b` of a loader batch as the network sees it, de-normalized back to RGB, with its
 * target boxes framed and named; enlarged 2× (3×, …) pixel for pixel when its shorter side is
 * under 320 px, so the labels stay readable. One tile of {@link drawBatchMosaic}.
 *
 * @param batch from `createLoader` (see {@link drawBatchMosaic})
 * @param b the image's index in the batch
 * @param opts the normalization to undo and the class names
 * @returns a new RGB image of `k · W × k · H` pixels
 * @throws RangeError when the image's boxes and labels disagree or a label has no name
 */
export async function drawBatchImage(
  batch: Batch,
  b: number,
  opts: Pick<MosaicOptions, "mean" | "std" | "classes">,
): Promise<RgbImage> {
  const [h, w] = batch.size;
  const k = Math.max(1, Math.floor(MIN_TILE / Math.min(h, w)));
  const tw = w * k, th = h * k;
  const boxes = batch.boxes[b], labels = batch.labels[b]; // [G, 4] xyxy, [G]
  if (boxes.length !== 4 * labels.length) {
    throw new RangeError(
      `Cannot draw a batch: image ${batch.ids[b]} has ${
        boxes.length / 4
      } boxes and ${labels.length} labels`,
    );
  }
  const draw: DrawBox[] = [];
  for (let g = 0; g < labels.length; g++) {
    const label = opts.classes[labels[g] - 1];
    if (label === undefined) {
      throw new RangeError(
        `Cannot draw a batch: label ${labels[g]} of image ${
          batch.ids[b]
        } is not in 1…${opts.classes.length}`,
      );
    }
    const [x1, y1, x2, y2] = boxes.subarray(4 * g, 4 * g + 4);
    draw.push({ bboxPx: [x1 * tw, y1 * th, x2 * tw, y2 * th], label, classIndex: labels[g] - 1 });
  }
  return await drawDetections(enlarge(denormalize(batch, b, opts.mean, opts.std), k), draw);
}

/** Options of {@link drawDetectionsOnSample}. */
export interface SampleDrawingOptions {
  /** The PNG (or JPEG) file to write. */
  path: string;
  /**
   * Draw only detections scoring above this; default 0.3. Evaluation keeps everything above
   * 0.01 (up to 200 boxes an image), far too many to look at.
   */
  minScore?: number;
  /** The model's class names: with them each class gets the colour the batch mosaic gives it. */
  classes?: readonly string[];
}

/**
 * Draws detections (as `detectDataset` returns them: pixel `xyxy`, score, class name) on the
 * image they were found in, e.g. a few validation images after each epoch. An image with a
 * shorter side under 320 px is enlarged 2× (3×, …) pixel for pixel, as in the batch mosaic.
 *
 * @param imagePath the image the detections are in pixels of
 * @param detections boxes in pixels of that image, by score descending
 * @param opts where to write, the lowest score drawn, the class names (for colours)
 * @throws FileError when the image cannot be read or the picture cannot be written
 */
export async function drawDetectionsOnSample(
  imagePath: string,
  detections: readonly DatasetDetection[],
  opts: SampleDrawingOptions,
): Promise<void> {
  const minScore = opts.minScore ?? 0.3;
  const read = await readImage(imagePath);
  const k = Math.max(1, Math.floor(MIN_TILE / Math.min(read.width, read.height)));
  const image = enlarge(read, k);
  const boxes: DrawBox[] = detections
    .filter((d) => d.score > minScore)
    .map((d) => {
      const index = opts.classes?.indexOf(d.className) ?? -1;
      const [x1, y1, x2, y2] = d.bboxPx;
      return {
        bboxPx: [x1 * k, y1 * k, x2 * k, y2 * k] as [number, number, number, number],
        label: d.className,
        score: d.score,
        ...(index >= 0 ? { classIndex: index } : {}),
      };
    });
  await writeImage(opts.path, await drawDetections(image, boxes));
}
