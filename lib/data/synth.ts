/**
 * A synthetic detection dataset for smoke-training and tests (`ssd data synth`): the four
 * `SYNTH_CLASSES` shapes at varied scales (≈ 10–60 % of the image side, log-uniform) and
 * aspect ratios (1/2…2) on textured backgrounds (value noise, gradients, stripes, checkers).
 *
 * - Occlusion: later shapes are drawn over earlier ones, but a shape is only placed when every
 *   earlier shape keeps at least half of its pixels visible. Boxes are the **full object
 *   extent** (amodal: the tight box of all the object's pixels, hidden ones included).
 * - Borders: shapes may be cut by the image border (at most half of one outside); their boxes
 *   are the visible extent clipped to the image and marked `truncated` in VOC.
 * - Files: JPEG (quality 90) images; VOC (`JPEGImages/`, `Annotations/*.xml` with 1-based
 *   inclusive integer boxes, `ImageSets/Main/{train,val}.txt`, 80/20), COCO (`images/`,
 *   `annotations.json`, category ids 1…4) or YOLO (`images/{train,val}/`, `labels/{train,val}/`
 *   with normalized `class cx cy w h`, `data.yaml`; the same 80/20 split). Every file is written
 *   to a temporary name and renamed. The same options give the same bytes.
 *
 * @module
 */
import { SYNTH_CLASSES } from "../classes.ts";
import { FileError } from "../errors.ts";
import { writeImage } from "./image.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { makeRng, mixSeed, randInt, type Rng, uniform } from "./rng.ts";
import { drawBackground, paintShape, rasterizeShape, type SynthShape } from "./synth_draw.ts";

/** The smallest image side that still holds recognisable shapes. */
export const SYNTH_MIN_SIZE = 32;
/** The largest image side synth draws (a 4096² canvas is 48 MiB of RGB). */
export const SYNTH_MAX_SIZE = 4096;
import type { RgbImage } from "./types.ts";

/** Options of {@link writeSynthDataset}. */
export interface SynthOptions {
  /** Output folder (created if needed). */
  out: string;
  /** Number of images. Default 200. */
  n?: number;
  /** Seed; the same seed gives the same files. Default 0. */
  seed?: number;
  /** Annotation format. Default `"voc"`. */
  format?: "voc" | "coco" | "yolo";
  /** Image side in pixels (square images). Default 160, the `tiny` model's input size. */
  size?: number;
}

/** One object of a synthetic image. */
export interface SynthObject {
  /** Index into `SYNTH_CLASSES`. */
  classIndex: number;
  /** Integer pixel box `[x1, y1, x2, y2]` (0-based, exclusive ends), inside the image. */
  boxPx: [number, number, number, number];
  /** Cut by the image border. */
  truncated: boolean;
}

/**
 * Draw one synthetic image (1–6 objects) from its own generator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSynthImage } from "./synth.ts";
 * import { makeRng } from "./rng.ts";
 * const { image, objects } = makeSynthImage(96, makeRng(3));
 * assert.equal(image.data.length, 96 * 96 * 3);
 * assert.ok(objects.length >= 1 && objects.length <= 6);
 * for (const { boxPx: [x1, y1, x2, y2] } of objects) assert.ok(0 <= x1 && x1 < x2 && x2 <= 96 && y1 < y2);
 * ```
 */
export function makeSynthImage(
  size: number,
  rng: Rng,
): { image: RgbImage; objects: SynthObject[] } {
  if (!Number.isInteger(size) || size < SYNTH_MIN_SIZE) {
    throw new RangeError(
      `Cannot draw a synthetic image: size must be an integer ≥ ${SYNTH_MIN_SIZE}, got ${size}`,
    );
  }
  const canvas = drawBackground(size, rng);
  const owner = new Int16Array(size * size).fill(-1);
  const inImage: number[] = []; // pixels of each object inside the image
  let visible: number[] = []; // of those, pixels not covered by later objects
  const objects: SynthObject[] = [];
  const wanted = randInt(rng, 1, 7);
  for (let attempt = 0; attempt < 60 && objects.length < wanted; attempt++) {
    const side = size * Math.exp(uniform(rng, Math.log(0.1), Math.log(0.6)));
    const aspect = Math.exp(uniform(rng, Math.log(0.5), Math.log(2)));
    const classIndex = randInt(rng, 0, SYNTH_CLASSES.length);
    const shape: SynthShape = {
      classIndex,
      cx: uniform(rng, 0, size),
      cy: uniform(rng, 0, size),
      w: side * Math.sqrt(aspect),
      h: side / Math.sqrt(aspect),
      color: [0, 0, 0],
      variant: classIndex === 3 ? uniform(rng, 0.25, 0.45) : rng(),
    };
    const { pixels, total, boxPx } = rasterizeShape(shape, size);
    if (boxPx === null || pixels.length < 0.5 * total || total < 30) continue;
    if (boxPx[2] - boxPx[0] < 6 || boxPx[3] - boxPx[1] < 6) continue;
    // Every earlier object must keep at least half of its pixels.
    const left = visible.slice();
    for (const p of pixels) if (owner[p] >= 0) left[owner[p]]--;
    if (left.some((count, j) => count < 0.5 * inImage[j])) continue;
    shape.color = contrastingColor(canvas, pixels, rng);
    paintShape(canvas, { s: shape, pixels, size }, rng);
    for (const p of pixels) owner[p] = objects.length;
    visible = [...left, pixels.length];
    inImage.push(pixels.length);
    objects.push({ classIndex, boxPx, truncated: pixels.length < total });
  }
  return { image: { width: size, height: size, data: canvas }, objects };
}

/** A random colour far (≥ 100 in RGB distance, 20 tries) from the mean of the pixels it covers. */
function contrastingColor(canvas: Uint8Array, pixels: number[], rng: Rng) {
  const mean = [0, 0, 0];
  for (const p of pixels) for (let c = 0; c < 3; c++) mean[c] += canvas[p * 3 + c] / pixels.length;
  let color: [number, number, number] = [0, 0, 0];
  for (let tries = 0; tries < 20; tries++) {
    color = [uniform(rng, 0, 255), uniform(rng, 0, 255), uniform(rng, 0, 255)];
    if (Math.hypot(color[0] - mean[0], color[1] - mean[1], color[2] - mean[2]) >= 100) break;
  }
  return color;
}

function vocXml(file: string, size: number, objects: SynthObject[]): string {
  const objs = objects.map(({ classIndex, boxPx: [x1, y1, x2, y2], truncated }) =>
    `  <object>\n    <name>${SYNTH_CLASSES[classIndex]}</name>\n    <pose>Unspecified</pose>\n` +
    `    <truncated>${truncated ? 1 : 0}</truncated>\n    <difficult>0</difficult>\n` +
    `    <bndbox>\n      <xmin>${x1 + 1}</xmin>\n      <ymin>${y1 + 1}</ymin>\n` +
    `      <xmax>${x2}</xmax>\n      <ymax>${y2}</ymax>\n    </bndbox>\n  </object>\n`
  );
  return `<annotation>\n  <folder>JPEGImages</folder>\n  <filename>${file}</filename>\n` +
    `  <source>\n    <database>ssd synth</database>\n  </source>\n` +
    `  <size>\n    <width>${size}</width>\n    <height>${size}</height>\n    <depth>3</depth>\n` +
    `  </size>\n  <segmented>0</segmented>\n${objs.join("")}</annotation>\n`;
}

/** A YOLO label file: `class cx cy w h` per object, normalized, 6 decimals at most. */
function yoloLabels(size: number, objects: SynthObject[]): string {
  const f = (v: number) => String(+(v / size).toFixed(6));
  return objects.map(({ classIndex, boxPx: [x1, y1, x2, y2] }) =>
    `${classIndex} ${f((x1 + x2) / 2)} ${f((y1 + y2) / 2)} ${f(x2 - x1)} ${f(y2 - y1)}\n`
  ).join("");
}

/**
 * Write a synthetic dataset (see the module notes for its content and layout).
 *
 * @returns the folder written, the number of images and of objects
 * @throws FileError when `out` is not empty or a file cannot be written; RangeError for a bad
 *   `n` or `size`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeSynthDataset } from "./synth.ts";
 * const out = await Deno.makeTempDir();
 * const r = await writeSynthDataset({ out, n: 3, seed: 1, format: "coco", size: 64 });
 * assert.equal(r.images, 3);
 * const gt = JSON.parse(await Deno.readTextFile(`${out}/annotations.json`));
 * assert.equal(gt.annotations.length, r.objects);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export async function writeSynthDataset(
  opts: SynthOptions,
): Promise<{ root: string; images: number; objects: number }> {
  const { out, n = 200, seed = 0, format = "voc", size = 160 } = opts;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot write a synthetic dataset: n must be an integer ≥ 1, got ${n}`);
  }
  if (!Number.isInteger(size) || size < SYNTH_MIN_SIZE || size > SYNTH_MAX_SIZE) {
    throw new RangeError(
      `Cannot write a synthetic dataset: size must be an integer in [${SYNTH_MIN_SIZE}, ` +
        `${SYNTH_MAX_SIZE}], got ${size}`,
    );
  }
  // A dataset is written whole into a new or empty folder, never over another one.
  try {
    for await (const _ of Deno.readDir(out)) {
      throw new FileError(
        out,
        "folder is not empty; synth writes a new dataset into an empty or new folder",
      );
    }
  } catch (err) {
    if (err instanceof FileError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new FileError(out, `cannot use as the output folder: ${(err as Error).message}`);
    }
  }
  const nTrain = n === 1 ? 1 : Math.min(n - 1, Math.round(n * 0.8));
  const split = (i: number) => (i < nTrain ? "train" : "val");
  const imageDir = (i: number) =>
    format === "voc"
      ? `${out}/JPEGImages`
      : format === "yolo"
      ? `${out}/images/${split(i)}`
      : `${out}/images`;
  try {
    const dirs = format === "voc"
      ? [imageDir(0), `${out}/Annotations`, `${out}/ImageSets/Main`]
      : format === "yolo"
      ? ["train", "val"].flatMap((s) => [`${out}/images/${s}`, `${out}/labels/${s}`])
      : [imageDir(0)];
    for (const d of dirs) await Deno.mkdir(d, { recursive: true });
  } catch (err) {
    throw new FileError(out, `cannot create folder: ${(err as Error).message}`, { cause: err });
  }
  const ids: string[] = [];
  const coco = { images: [] as unknown[], annotations: [] as unknown[] };
  let objectCount = 0;
  for (let i = 0; i < n; i++) {
    const id = String(i + 1).padStart(6, "0");
    const { image, objects } = makeSynthImage(size, makeRng(mixSeed(seed, i)));
    await writeImage(`${imageDir(i)}/${id}.jpg`, image);
    ids.push(id);
    if (format === "voc") {
      await writeFileAtomic(`${out}/Annotations/${id}.xml`, vocXml(`${id}.jpg`, size, objects));
    } else if (format === "yolo") {
      await writeFileAtomic(`${out}/labels/${split(i)}/${id}.txt`, yoloLabels(size, objects));
    } else {
      coco.images.push({ id: i + 1, file_name: `${id}.jpg`, width: size, height: size });
      for (const { classIndex, boxPx: [x1, y1, x2, y2] } of objects) {
        coco.annotations.push({
          id: objectCount + 1,
          image_id: i + 1,
          category_id: classIndex + 1,
          bbox: [x1, y1, x2 - x1, y2 - y1],
          area: (x2 - x1) * (y2 - y1),
          iscrowd: 0,
        });
        objectCount++;
      }
      continue;
    }
    objectCount += objects.length;
  }
  if (format === "yolo") {
    await writeFileAtomic(
      `${out}/data.yaml`,
      `# ssd synthetic shapes, seed ${seed}, size ${size}\npath: .\ntrain: images/train\n` +
        `val: images/val\nnames:\n${SYNTH_CLASSES.map((c, k) => `  ${k}: ${c}\n`).join("")}`,
    );
  } else if (format === "voc") {
    await writeFileAtomic(
      `${out}/ImageSets/Main/train.txt`,
      ids.slice(0, nTrain).join("\n") + "\n",
    );
    await writeFileAtomic(
      `${out}/ImageSets/Main/val.txt`,
      ids.slice(nTrain).map((s) => s + "\n").join(""),
    );
  } else {
    const categories = SYNTH_CLASSES.map((name, k) => ({
      id: k + 1,
      name,
      supercategory: "shape",
    }));
    const info = { description: `ssd synthetic shapes, seed ${seed}, size ${size}` };
    await writeFileAtomic(
      `${out}/annotations.json`,
      JSON.stringify({ info, images: coco.images, annotations: coco.annotations, categories }),
    );
  }
  return { root: out, images: n, objects: objectCount };
}
