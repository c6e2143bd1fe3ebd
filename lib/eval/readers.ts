/**
 * Loading evaluation inputs from disk, with the semantic checks the file readers leave to
 * their callers: COCO instances + results, a VOC root + a folder of per-class detection files.
 * Every problem is a `FileError` naming the file (and the entry or line).
 *
 * @module
 */
import { FileError } from "../errors.ts";
import {
  type CocoInstances,
  type CocoResult,
  readCocoInstances,
  readCocoResults,
} from "../data/coco.ts";
import { findSet, HELD_OUT_SETS, loadDataset } from "../data/dataset.ts";
import { datasetGroundTruth } from "./dataset_gt.ts";
import { parseVocXml, readVocImageSet } from "../data/voc.ts";
import type { VocDetection, VocGtObject } from "./voc.ts";

/** A VOC ground truth: the image set's ids (in list order) and each image's objects. */
export interface VocGroundTruth {
  /** The VOC root it was read from. */
  root: string;
  /** The image set read (`ImageSets/Main/<set>.txt`). */
  set: string;
  /** image id -> objects, VOC 1-based inclusive pixels, in list order. */
  images: Map<string, VocGtObject[]>;
  /** Image sizes from `<size>` (0 when absent). */
  sizes: Map<string, { width: number; height: number }>;
}

/**
 * Checks that a COCO ground truth is consistent: unique image ids, annotations naming listed
 * images and categories, non-negative box sizes.
 *
 * @throws FileError naming `file` and the offending entry
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCocoInstances } from "./readers.ts";
 * const gt = { images: [{ id: 1, file_name: "", width: 0, height: 0 }], categories: [{ id: 1, name: "a" }],
 *   annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, -1, 1] as [number, number, number, number], area: 1, iscrowd: 0 }] };
 * assert.throws(() => checkCocoInstances(gt, "gt.json"), /annotations\[0\]: negative width or height/);
 * ```
 */
export function checkCocoInstances(gt: CocoInstances, file: string): void {
  const images = new Set<number>();
  gt.images.forEach((im, i) => {
    if (images.has(im.id)) throw new FileError(file, `images[${i}]: duplicate image id ${im.id}`);
    images.add(im.id);
  });
  const cats = new Set<number>();
  gt.categories.forEach((c, i) => {
    if (cats.has(c.id)) {
      throw new FileError(file, `categories[${i}]: duplicate category id ${c.id}`);
    }
    cats.add(c.id);
  });
  gt.annotations.forEach((a, i) => {
    const where = `annotations[${i}]`;
    if (!images.has(a.image_id)) {
      throw new FileError(file, `${where}: image_id ${a.image_id} is not in "images"`);
    }
    if (!cats.has(a.category_id)) {
      throw new FileError(file, `${where}: category_id ${a.category_id} is not in "categories"`);
    }
    if (a.bbox[2] < 0 || a.bbox[3] < 0) {
      throw new FileError(
        file,
        `${where}: negative width or height in bbox ${JSON.stringify(a.bbox)}`,
      );
    }
  });
}

/**
 * Checks COCO results against their ground truth: known image and category ids, non-negative
 * box sizes.
 *
 * @throws FileError naming `file` and the offending entry
 */
export function checkCocoResults(results: CocoResult[], gt: CocoInstances, file: string): void {
  const images = new Set(gt.images.map((im) => im.id));
  const cats = new Set(gt.categories.map((c) => c.id));
  results.forEach((r, i) => {
    if (!images.has(r.image_id)) {
      throw new FileError(
        file,
        `[${i}]: image_id ${r.image_id} is not an image of the ground truth`,
      );
    }
    if (!cats.has(r.category_id)) {
      throw new FileError(
        file,
        `[${i}]: category_id ${r.category_id} is not a category of the ground truth`,
      );
    }
    if (r.bbox[2] < 0 || r.bbox[3] < 0) {
      throw new FileError(
        file,
        `[${i}]: negative width or height in bbox ${JSON.stringify(r.bbox)}`,
      );
    }
  });
}

/** Reads and checks a COCO instances file and a results file for it. */
export async function loadCocoPair(
  gtPath: string,
  resultsPath: string,
): Promise<{ gt: CocoInstances; results: CocoResult[] }> {
  const gt = await readCocoInstances(gtPath);
  checkCocoInstances(gt, gtPath);
  const results = await readCocoResults(resultsPath);
  checkCocoResults(results, gt, resultsPath);
  return { gt, results };
}

/**
 * Reads a VOC root: the image set `ImageSets/Main/<set>.txt` and `Annotations/<id>.xml` of
 * each image in it. Boxes stay as written (1-based inclusive, floats kept).
 *
 * @throws FileError when the list or an annotation is missing or malformed
 */
export async function readVocGroundTruth(root: string, set?: string): Promise<VocGroundTruth> {
  const list = await readVocImageSet(root, set);
  const images = new Map<string, VocGtObject[]>();
  const sizes = new Map<string, { width: number; height: number }>();
  for (const id of list.ids) {
    if (images.has(id)) continue;
    const file = `${root}/Annotations/${id}.xml`;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      const reason = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
      throw new FileError(file, `cannot read annotation of image "${id}": ${reason}`);
    }
    const ann = parseVocXml(text, file);
    images.set(
      id,
      ann.objects.map((o) => ({ name: o.name, difficult: o.difficult, bbox: o.bbox })),
    );
    sizes.set(id, { width: ann.width, height: ann.height });
  }
  return { root, set: list.set, images, sizes };
}

/** A YOLO dataset's ground truth in the VOC form the metrics read. */
export interface YoloGroundTruth {
  /** The split read (by default `val`, else `test`); undefined for every image. */
  set?: string;
  /** Image id (the sample id) -> objects, VOC 1-based inclusive pixels. */
  images: Map<string, VocGtObject[]>;
  /** Class names in the dataset's order. */
  classes: string[];
}

/**
 * Reads a YOLO dataset (a folder or its `data.yaml`) as ground truth: the split `set`, by default
 * its `val` split (else `test`, else every image), as `ssd eval --model` evaluates it.
 *
 * @throws FileError for a missing split or a malformed label file
 */
export async function readYoloGroundTruth(path: string, set?: string): Promise<YoloGroundTruth> {
  set ??= await findSet(path, HELD_OUT_SETS);
  const dataset = await loadDataset(path, { set });
  return { set, images: datasetGroundTruth(dataset), classes: [...dataset.classes] };
}

/** The class a detection file is for: `<class>.txt` or `comp<N>_det_<set>_<class>.txt`. */
function classOfFile(name: string, set: string | undefined): string {
  const stem = name.slice(0, -4);
  const prefix = set === undefined
    ? /^comp\d+_det_[^_]+_/
    : new RegExp(`^comp\\d+_det_${set.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_`);
  return stem.replace(prefix, "");
}

/**
 * Parses one per-class VOC detection file: `<image> <score> <xmin> <ymin> <xmax> <ymax>` per
 * line (whitespace-separated; blank lines skipped).
 *
 * @param imageIds when given, a detection naming another image is an error
 * @throws FileError naming `file` and the line
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVocDetections } from "./readers.ts";
 * assert.deepEqual(parseVocDetections("000001 0.9 1 2 30 40\n", "dog.txt"), [
 *   { imageId: "000001", score: 0.9, bbox: [1, 2, 30, 40] },
 * ]);
 * assert.throws(() => parseVocDetections("000001 0.9 1 2 x 40", "dog.txt"), /dog.txt: line 1/);
 * ```
 */
export function parseVocDetections(
  text: string,
  file: string,
  imageIds?: Set<string>,
): VocDetection[] {
  const out: VocDetection[] = [];
  text.split(/\r?\n/).forEach((line, n) => {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === "") return;
    if (fields.length !== 6) {
      throw new FileError(
        file,
        `line ${
          n + 1
        }: expected "<image> <score> <xmin> <ymin> <xmax> <ymax>", got ${fields.length} fields`,
      );
    }
    const values = fields.slice(1).map(Number);
    if (!values.every(Number.isFinite)) {
      throw new FileError(file, `line ${n + 1}: score and box must be numbers: ${line.trim()}`);
    }
    if (imageIds !== undefined && !imageIds.has(fields[0])) {
      throw new FileError(file, `line ${n + 1}: image "${fields[0]}" is not in the image set`);
    }
    out.push({
      imageId: fields[0],
      score: values[0],
      bbox: [values[1], values[2], values[3], values[4]],
    });
  });
  return out;
}

/**
 * Reads a folder of per-class VOC detection files (`<class>.txt` or
 * `comp4_det_<set>_<class>.txt`), each line `<image> <score> <xmin> <ymin> <xmax> <ymax>` in
 * 1-based pixels.
 *
 * @param options.set the image set, to strip `comp4_det_<set>_`
 * @param options.imageIds when given, detections must name one of these images
 * @returns class name -> detections in file order
 * @throws FileError when the folder cannot be read or a file is malformed
 */
export async function readVocDetections(
  dir: string,
  options: { set?: string; imageIds?: Set<string> } = {},
): Promise<Record<string, VocDetection[]>> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".txt")) names.push(entry.name);
    }
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound ? "no such folder" : (err as Error).message;
    throw new FileError(dir, `cannot read detection folder: ${reason}`);
  }
  if (names.length === 0) throw new FileError(dir, "no per-class detection files (<class>.txt)");
  const out: Record<string, VocDetection[]> = {};
  for (const name of names.sort()) {
    const file = `${dir}/${name}`;
    const cls = classOfFile(name, options.set);
    if (cls in out) throw new FileError(file, `a second detection file for class "${cls}"`);
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new FileError(file, `cannot read: ${(err as Error).message}`);
    }
    out[cls] = parseVocDetections(text, file, options.imageIds);
  }
  return out;
}
