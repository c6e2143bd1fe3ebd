/**
 * COCO JSON files: the one reader of instances (ground truth) and results (detections) files of
 * the project. Validation here is structural only (valid JSON, arrays present, fields of the
 * right types); semantic checks (duplicate ids, unknown categories, negative sizes) are the
 * caller's.
 *
 * Boxes are COCO pixels `[x, y, w, h]`, 0-based continuous.
 *
 * @module
 */
import { FileError, showJsonValue } from "../errors.ts";
import { describeFsError } from "../io/read.ts";

/** One entry of `images`. */
export interface CocoImage {
  /** The id annotations and results refer to. */
  id: number;
  /** The image's path relative to the image folder. */
  file_name: string;
  /** Width in pixels; 0 when the file does not give it. */
  width: number;
  /** Height in pixels; 0 when the file does not give it. */
  height: number;
}

/** One entry of `annotations`. */
export interface CocoAnnotation {
  /** The annotation's id. */
  id: number;
  /** The `id` of its image. */
  image_id: number;
  /** The `id` of its category. */
  category_id: number;
  /** `[x, y, w, h]` in pixels. */
  bbox: [number, number, number, number];
  /** The annotation's area field (segment area in real COCO); `w * h` when absent. */
  area: number;
  /** 1 for a crowd region; 0 when absent. */
  iscrowd: number;
}

/** One entry of `categories`. */
export interface CocoCategory {
  /** The id annotations and results refer to. */
  id: number;
  /** The class name. */
  name: string;
}

/** A COCO instances file. */
export interface CocoInstances {
  /** The images. */
  images: CocoImage[];
  /** The ground-truth boxes of all images. */
  annotations: CocoAnnotation[];
  /** The classes. */
  categories: CocoCategory[];
}

/** One detection of a COCO results file. */
export interface CocoResult {
  /** The `id` of the image it is in. */
  image_id: number;
  /** The `id` of the predicted category. */
  category_id: number;
  /** `[x, y, w, h]` in pixels. */
  bbox: [number, number, number, number];
  /** Confidence; higher ranks first. */
  score: number;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new FileError(path, `cannot read: ${describeFsError(err).replace(/^cannot read: /, "")}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FileError(path, `not valid JSON: ${(err as Error).message}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks field types of one entry; `where` names it in the error (`annotations[3]`). */
class EntryReader {
  constructor(
    readonly file: string,
    readonly where: string,
    readonly entry: Record<string, unknown>,
  ) {}

  fail(what: string): never {
    throw new FileError(this.file, `${this.where}: ${what}`);
  }

  number(key: string, fallback?: number): number {
    const value = this.entry[key];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      this.fail(`"${key}" must be a finite number, got ${showJsonValue(value)}`);
    }
    return value;
  }

  string(key: string, fallback?: string): string {
    const value = this.entry[key];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== "string") {
      this.fail(`"${key}" must be a string, got ${showJsonValue(value)}`);
    }
    return value;
  }

  bbox(): [number, number, number, number] {
    const value = this.entry.bbox;
    if (
      !Array.isArray(value) || value.length !== 4 ||
      !value.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      this.fail(`"bbox" must be [x, y, w, h] of 4 finite numbers, got ${showJsonValue(value)}`);
    }
    return [value[0], value[1], value[2], value[3]];
  }
}

function entries(file: string, data: Record<string, unknown>, key: string): EntryReader[] {
  const list = data[key];
  if (!Array.isArray(list)) throw new FileError(file, `"${key}" must be an array`);
  return list.map((entry, i) => {
    if (!isRecord(entry)) throw new FileError(file, `${key}[${i}]: expected an object`);
    return new EntryReader(file, `${key}[${i}]`, entry);
  });
}

/**
 * Reads a COCO instances file (`images`, `annotations`, `categories`). `area` defaults to
 * `w * h` and `iscrowd` to 0 when absent; `width`/`height` of an image default to 0.
 *
 * @throws FileError when the file is missing, not JSON, has no images, or a field has the
 *   wrong type
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCocoInstances } from "./coco.ts";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify({
 *   images: [{ id: 1, file_name: "a.jpg", width: 64, height: 48 }],
 *   annotations: [{ id: 7, image_id: 1, category_id: 3, bbox: [0, 0, 10, 5] }],
 *   categories: [{ id: 3, name: "car" }],
 * }));
 * const gt = await readCocoInstances(path);
 * assert.equal(gt.annotations[0].area, 50);
 * assert.equal(gt.annotations[0].iscrowd, 0);
 * await Deno.remove(path);
 * ```
 */
export async function readCocoInstances(path: string): Promise<CocoInstances> {
  const data = await readJson(path);
  if (!isRecord(data)) {
    throw new FileError(
      path,
      "expected a COCO instances object with images, annotations, categories",
    );
  }
  const images = entries(path, data, "images").map((e) => ({
    id: e.number("id"),
    file_name: e.string("file_name", ""),
    width: e.number("width", 0),
    height: e.number("height", 0),
  }));
  const annotations = entries(path, data, "annotations").map((e) => {
    const bbox = e.bbox();
    return {
      id: e.number("id", 0),
      image_id: e.number("image_id"),
      category_id: e.number("category_id"),
      bbox,
      area: e.number("area", bbox[2] * bbox[3]),
      iscrowd: e.number("iscrowd", 0),
    };
  });
  const categories = entries(path, data, "categories").map((e) => ({
    id: e.number("id"),
    name: e.string("name", ""),
  }));
  if (images.length === 0) throw new FileError(path, 'no images (the "images" list is empty)');
  return { images, annotations, categories };
}

/**
 * Reads a COCO results file: a JSON array of `{image_id, category_id, bbox, score}`. Other
 * fields (segmentation, keypoints) are ignored.
 *
 * @throws FileError when the file is missing, not a JSON array, or a field has the wrong type
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCocoResults } from "./coco.ts";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, '[{"image_id":1,"category_id":3,"bbox":[1,2,3,4],"score":0.9}]');
 * assert.deepEqual(await readCocoResults(path), [
 *   { image_id: 1, category_id: 3, bbox: [1, 2, 3, 4], score: 0.9 },
 * ]);
 * await Deno.remove(path);
 * ```
 */
export async function readCocoResults(path: string): Promise<CocoResult[]> {
  const data = await readJson(path);
  if (!Array.isArray(data)) {
    throw new FileError(
      path,
      "expected a COCO results array [{image_id, category_id, bbox, score}]",
    );
  }
  return data.map((entry, i) => {
    if (!isRecord(entry)) throw new FileError(path, `[${i}]: expected an object`);
    const e = new EntryReader(path, `[${i}]`, entry);
    return {
      image_id: e.number("image_id"),
      category_id: e.number("category_id"),
      bbox: e.bbox(),
      score: e.number("score"),
    };
  });
}
