/**
 * `ssd data show`: the ground truth of a dataset drawn on its images as the model sees them —
 * resized to the model's input size, or after the training augmentation (`augment.ts`) — one
 * preview per image and a mosaic of them, so a person can look at what the model will learn
 * from. Each preview is prepared by the training loader's own code (`prepareSample`) and drawn
 * by the training pictures' (`drawBatchImage`, `drawBatchMosaic`).
 *
 * @module
 */
import { join } from "node:path";
import { FileError } from "../errors.ts";
import type { BoxPx } from "./augment.ts";
import { type DatasetOptions, readDataset } from "./dataset.ts";
import type { Batch } from "./loader.ts";
import { type PreparedSample, prepareSample } from "./loader_sample.ts";
import { writeImage } from "./image_codec.ts";
import { makeRng, mixSeed, shuffled } from "./rng.ts";
import { makeOutputDir, refuseOverwriting } from "../io/atomic.ts";
import { drawBatchImage, drawBatchMosaic } from "../train/pictures.ts";

/** Options of {@link showDataset}. */
export interface ShowOptions extends DatasetOptions {
  /** Output folder (created). */
  out: string;
  /** The model's input `[H, W]`: every preview is resized to it (then enlarged to read). */
  imageSize: [number, number];
  /** The model's normalization (`config.preprocess`): the zoom-out fill of `augment`. */
  mean: [number, number, number];
  std: [number, number, number];
  /** How many images (default 16): the first ones, or a seeded random choice with `augment`. */
  n?: number;
  /** Draw one augmented sample per image (photometric, zoom-out, IoU crop, flip). */
  augment?: boolean;
  /**
   * Seed for the choice of images and the augmentation (default 0). Sample `i` is augmented
   * with the seed the training loader gives it in the first epoch (`mixSeed(seed, 0, i)`).
   */
  seed?: number;
  /** Images in the mosaic (default 16; the first previews). */
  mosaic?: number;
  /** Called with each written file. */
  onWritten?: (file: string) => void;
  /** Called for an image that cannot be read; the others are still drawn. */
  onError?: (err: FileError) => void;
  /** Called after each image (drawn or failed) with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Draws ground-truth boxes (class name; `difficult` objects marked, and dropped from augmented
 * samples as training drops them) on `n` images of a dataset at the model's input size and
 * writes them as `<out>/<id>.png` (or `<id>_aug<seed>.png`), then the first 16 as one
 * `<out>/mosaic.png` (`mosaic_aug<seed>.png`).
 *
 * @returns how many images were written and how many failed
 * @throws FileError when the dataset cannot be read at all or `out` cannot be created
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showDataset } from "./show.ts";
 * import { writeImage } from "./image_codec.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/Annotations`);
 * await Deno.mkdir(`${root}/JPEGImages`);
 * await writeImage(`${root}/JPEGImages/a.png`, { width: 40, height: 30, data: new Uint8Array(3600) });
 * await Deno.writeTextFile(`${root}/Annotations/a.xml`, `<annotation><filename>a.png</filename>
 *   <object><name>cat</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>30</xmax><ymax>25</ymax>
 *   </bndbox></object></annotation>`);
 * const r = await showDataset(root, {
 *   out: `${root}/show`, imageSize: [60, 80], mean: [0, 0, 0], std: [1, 1, 1],
 * });
 * assert.deepEqual(r, { written: 1, failed: 0 });
 * const names = [...Deno.readDirSync(`${root}/show`)].map((e) => e.name).sort();
 * assert.deepEqual(names, ["a.png", "mosaic.png"]);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function showDataset(
  path: string,
  opts: ShowOptions,
): Promise<{ written: number; failed: number }> {
  const { dataset } = await readDataset(path, opts);
  const n = opts.n ?? 16, seed = opts.seed ?? 0;
  const indices = [...dataset.samples.keys()];
  const chosen = opts.augment ? shuffled(makeRng(seed), indices).slice(0, n) : indices.slice(0, n);
  const suffix = opts.augment ? `_aug${seed}` : "";
  const name = (id: string) => id.replace(/[\/\\]/g, "_") + suffix;
  const mosaicPath = join(opts.out, `mosaic${suffix}.png`);
  refuseOverwriting(
    dataset.samples.map((s) => s.imagePath),
    [...chosen.map((i) => join(opts.out, `${name(dataset.samples[i].id)}.png`)), mosaicPath],
    [opts.out],
  );
  await makeOutputDir(opts.out);
  // Difficult objects get their own names (and colours) after the classes: "cat (difficult)".
  const C = dataset.classes.length;
  const classes = [...dataset.classes, ...dataset.classes.map((c) => `${c} (difficult)`)];
  const draw = { mean: opts.mean, std: opts.std, classes };
  const shown: { id: string; sample: PreparedSample }[] = [];
  let failed = 0;
  for (const i of chosen) {
    const s = dataset.samples[i];
    // What the augmenter accepts (finite, positive size); training leaves difficult ones out.
    const objects = s.objects.filter((o) =>
      o.bboxPx.every(Number.isFinite) && o.bboxPx[2] > o.bboxPx[0] && o.bboxPx[3] > o.bboxPx[1] &&
      !(opts.augment && o.difficult)
    );
    let sample: PreparedSample;
    try {
      sample = await prepareSample({
        imagePath: s.imagePath,
        boxesPx: objects.map((o) => o.bboxPx.slice() as BoxPx),
        labels: objects.map((o) => o.classIndex + 1 + (o.difficult ? C : 0)),
        seed: mixSeed(seed, 0, i),
        imageSize: opts.imageSize,
        mean: opts.mean,
        std: opts.std,
        augment: opts.augment ?? false,
      });
    } catch (err) {
      if (!(err instanceof FileError)) throw err;
      failed++;
      opts.onError?.(err);
      opts.onProgress?.(shown.length + failed, chosen.length);
      continue;
    }
    const tile = await drawBatchImage(batchOf([{ id: s.id, sample }], opts.imageSize), 0, draw);
    const file = join(opts.out, `${name(s.id)}.png`);
    await writeImage(file, tile);
    opts.onWritten?.(file);
    shown.push({ id: s.id, sample });
    opts.onProgress?.(shown.length + failed, chosen.length);
  }
  if (shown.length > 0) {
    const batch = batchOf(shown.slice(0, opts.mosaic ?? 16), opts.imageSize);
    await drawBatchMosaic(batch, { ...draw, path: mosaicPath });
    opts.onWritten?.(mosaicPath);
  }
  return { written: shown.length, failed };
}

/** Prepared samples as one loader batch (the form the training pictures draw). */
function batchOf(items: { id: string; sample: PreparedSample }[], size: [number, number]): Batch {
  const [h, w] = size;
  const images = new Float32Array(items.length * h * w * 3); // [B, H, W, 3]
  items.forEach(({ sample }, b) => images.set(sample.image, b * h * w * 3));
  return {
    images,
    size,
    boxes: items.map(({ sample }) => sample.boxes),
    labels: items.map(({ sample }) => sample.labels),
    ids: items.map(({ id }) => id),
  };
}
