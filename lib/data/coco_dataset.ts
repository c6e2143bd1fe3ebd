/**
 * A COCO instances JSON as a {@link Dataset}: `[x, y, w, h]` boxes to corners, category ids to
 * contiguous class indices (sorted by id, or the given class list), `iscrowd` as difficult;
 * duplicate ids, unknown categories or images and negative sizes reported as problems.
 *
 * @module
 */
import { type CocoInstances, readCocoInstances } from "./coco.ts";
import type { DatasetOptions } from "./dataset.ts";
import { formatBox, type ProblemList } from "./problems.ts";
import { cocoToXyxy } from "./box_px.ts";
import type { Dataset, Sample } from "./types.ts";

const trimSlash = (p: string) => p.length > 1 ? p.replace(/\/+$/, "") : p;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function cocoImageDir(json: string, data: CocoInstances, opts: DatasetOptions) {
  if (opts.images !== undefined) return trimSlash(opts.images);
  const dir = json.includes("/") ? json.slice(0, json.lastIndexOf("/")) : ".";
  const parent = dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) : ".";
  const split = /instances_(.+)\.json$/.exec(json)?.[1];
  const candidates = [`${dir}/images`, dir, `${parent}/images`, parent];
  if (split !== undefined) {
    candidates.unshift(`${parent}/${split}`, `${parent}/images/${split}`, `${dir}/${split}`);
  }
  const first = data.images[0]?.file_name;
  for (const c of candidates) {
    if (first !== undefined && await isFile(`${c}/${first}`)) return c;
  }
  return candidates.find((c) => c === `${dir}/images`) ?? dir;
}

/**
 * Reads a COCO instances file into a dataset (see the module notes); the image folder is
 * `opts.images`, or the first of `<root>/<split>`, `<root>/images/<split>`, `images/` beside
 * the JSON, … that holds the first image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCocoDataset } from "./coco_dataset.ts";
 * import { ProblemList } from "./problems.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/gt.json`, JSON.stringify({
 *   images: [{ id: 1, file_name: "a.jpg", width: 9, height: 9 }],
 *   annotations: [{ id: 1, image_id: 1, category_id: 5, bbox: [1, 2, 3, 4] }],
 *   categories: [{ id: 5, name: "cat" }],
 * }));
 * const problems = new ProblemList();
 * const ds = await readCocoDataset(`${dir}/gt.json`, {}, problems, []);
 * assert.deepEqual(ds.samples[0].objects[0].bboxPx, [1, 2, 4, 6]);
 * assert.deepEqual(problems.items, []);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readCocoDataset(
  json: string,
  opts: DatasetOptions,
  problems: ProblemList,
  notes: string[],
): Promise<Dataset> {
  const data = await readCocoInstances(json);
  const imageDir = await cocoImageDir(json, data, opts);
  notes.push(`images in ${imageDir}`);
  const cats = new Map<number, string>();
  for (const c of data.categories) {
    if (cats.has(c.id)) problems.error(json, `duplicate category id ${c.id}`);
    cats.set(c.id, c.name);
  }
  const sortedIds = [...cats.keys()].sort((a, b) => a - b);
  const classes = opts.classes ?? sortedIds.map((id) => cats.get(id)!);
  const classOf = new Map(
    sortedIds.map((id) => [id, classes.indexOf(cats.get(id)!)] as [number, number]),
  );
  const samples = new Map<number, Sample>();
  for (const img of data.images) {
    if (samples.has(img.id)) {
      problems.error(json, `duplicate image id ${img.id} (${img.file_name})`);
      continue;
    }
    samples.set(img.id, {
      id: String(img.id),
      imagePath: `${imageDir}/${img.file_name}`,
      width: img.width,
      height: img.height,
      objects: [],
    });
  }
  const annIds = new Set<number>();
  for (const a of data.annotations) {
    const where = `annotation ${a.id}`;
    if (annIds.has(a.id)) problems.error(json, `duplicate annotation id ${a.id}`);
    annIds.add(a.id);
    const sample = samples.get(a.image_id);
    if (sample === undefined) {
      problems.error(json, `${where}: unknown image id ${a.image_id}`);
      continue;
    }
    const classIndex = classOf.get(a.category_id) ?? -1;
    if (classIndex < 0) {
      problems.error(json, `${where}: unknown category id ${a.category_id}`);
      continue;
    }
    const [, , w, h] = a.bbox;
    if (w < 0 || h < 0) {
      problems.error(
        json,
        `${where} (image ${a.image_id}): negative width or height ${
          formatBox(a.bbox)
        } (COCO boxes are [x, y, w, h], not corners)`,
      );
    }
    sample.objects.push({ bboxPx: cocoToXyxy(a.bbox), classIndex, difficult: a.iscrowd === 1 });
  }
  return { format: "coco", root: json, classes, samples: [...samples.values()] };
}
