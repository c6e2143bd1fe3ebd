/**
 * `ssd data show`: the ground truth of a dataset drawn on its images, or on training
 * augmentations of them (`augment.ts`), so a person can look at what the model will see.
 *
 * @module
 */
import { join } from "node:path";
import { FileError } from "../errors.ts";
import { augmentSample, type BoxPx } from "./augment.ts";
import { type DatasetOptions, readDataset } from "./dataset.ts";
import { type DrawBox, drawDetections } from "./draw.ts";
import { readImage, writeImage } from "./image_codec.ts";
import { makeRng, mixSeed, shuffled } from "./rng.ts";
import { makeOutputDir, refuseOverwriting } from "../io/atomic.ts";
import type { RgbImage } from "./types.ts";

/** Options of {@link showDataset}. */
export interface ShowOptions extends DatasetOptions {
  /** Output folder (created). */
  out: string;
  /** How many images (default 16): the first ones, or a seeded random choice with `augment`. */
  n?: number;
  /** Draw one augmented sample per image (photometric, zoom-out, IoU crop, flip). */
  augment?: boolean;
  /** Seed for the choice of images and the augmentation (default 0). */
  seed?: number;
  /** Called with each written file. */
  onWritten?: (file: string) => void;
  /** Called for an image that cannot be read; the others are still drawn. */
  onError?: (err: FileError) => void;
}

/**
 * Draws ground-truth boxes (class name; `difficult` objects marked) on `n` images of a dataset
 * and writes them as `<out>/<id>.png` (or `<id>_aug<seed>.png`).
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
 * const r = await showDataset(root, { out: `${root}/show` });
 * assert.deepEqual(r, { written: 1, failed: 0 });
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function showDataset(
  path: string,
  opts: ShowOptions,
): Promise<{ written: number; failed: number }> {
  const { dataset } = await readDataset(path, opts);
  const n = opts.n ?? 16, seed = opts.seed ?? 0;
  const samples = opts.augment
    ? shuffled(makeRng(seed), dataset.samples).slice(0, n)
    : dataset.samples.slice(0, n);
  const name = (sample: { id: string }) =>
    sample.id.replace(/[\/\\]/g, "_") + (opts.augment ? `_aug${seed}` : "");
  refuseOverwriting(
    dataset.samples.map((s) => s.imagePath),
    samples.map((s) => join(opts.out, `${name(s)}.png`)),
    [opts.out],
  );
  await makeOutputDir(opts.out);
  let written = 0, failed = 0;
  for (const [i, sample] of samples.entries()) {
    let image: RgbImage;
    try {
      image = await readImage(sample.imagePath);
    } catch (err) {
      if (!(err instanceof FileError)) throw err;
      failed++;
      opts.onError?.(err);
      continue;
    }
    let boxes: DrawBox[] = sample.objects.map((o) => ({
      bboxPx: o.bboxPx,
      label: (dataset.classes[o.classIndex] ?? `class ${o.classIndex}`) +
        (o.difficult ? " (difficult)" : ""),
      classIndex: o.classIndex,
    }));
    if (opts.augment) {
      // Only boxes the augmenter accepts (finite, positive size, clipped to the image).
      const valid = sample.objects.map((o): [BoxPx, number] => [[
        Math.max(0, o.bboxPx[0]),
        Math.max(0, o.bboxPx[1]),
        Math.min(image.width, o.bboxPx[2]),
        Math.min(image.height, o.bboxPx[3]),
      ], o.classIndex]).filter(([b]) => b.every(Number.isFinite) && b[2] > b[0] && b[3] > b[1]);
      const aug = augmentSample(
        image,
        valid.map(([b]) => b),
        valid.map(([, c]) => c),
        makeRng(mixSeed(seed, i)),
      );
      image = aug.image;
      boxes = aug.boxesPx.map((b, k) => ({
        bboxPx: b,
        label: dataset.classes[aug.labels[k]] ?? `class ${aug.labels[k]}`,
        classIndex: aug.labels[k],
      }));
    }
    const drawn = await drawDetections(image, boxes);
    const file = join(opts.out, `${name(sample)}.png`);
    await writeImage(file, drawn);
    written++;
    opts.onWritten?.(file);
  }
  return { written, failed };
}
