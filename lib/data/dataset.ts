/**
 * Detection datasets from disk: a VOC root, a COCO instances JSON (with its image folder) or a
 * YOLO folder, read into one {@link Dataset} shape (boxes in pixels, 0-based continuous
 * `xyxy`; VOC's 1-based inclusive boxes become `[xmin - 1, ymin - 1, xmax, ymax]`, COCO's
 * `[x, y, w, h]` become `[x, y, x + w, y + h]`).
 *
 * {@link readDataset} keeps going past problems in single files and returns them (for
 * `ssd data check`); {@link loadDataset} throws the first error.
 *
 * @module
 */
import { FileError } from "../errors.ts";
import { readCocoDataset } from "./coco_dataset.ts";
import { describeReadError } from "./image_codec.ts";
import { probeImageSize } from "./image_size.ts";
import { type DatasetProblem, formatBox, ProblemList } from "./problems.ts";
import type { Dataset, GtObject, Sample } from "./types.ts";
import { parseVocXml, readVocImageSet, type VocAnnotation } from "./voc.ts";
import { vocToXyxy } from "./box_px.ts";
import { isYoloDataset, readYoloDataset, scaleYoloBoxes } from "./yolo.ts";
import { firstYoloSplit, isYamlPath } from "./yolo_layout.ts";

/** Options of {@link loadDataset} and {@link readDataset}. */
export interface DatasetOptions {
  /** VOC image set (`ImageSets/Main/<set>.txt`), YOLO split (`data.yaml`'s `<set>:`,
   * `images/<set>/` or `<set>/images/`), or the COCO file of a split in a folder that holds
   * several (`annotations/instances_<set>*.json`, `<set>/_annotations.coco.json`). */
  set?: string;
  /** Class names (without background); by default the dataset's own (COCO categories, YOLO
   * names file) or, for VOC, the sorted names found in the annotations. */
  classes?: string[];
  /** COCO: the image folder; by default found beside the JSON. */
  images?: string;
}

/** A dataset with what was noticed while reading it. */
export interface DatasetReadResult {
  /** The dataset as far as it could be read (what a problem concerns may be missing). */
  dataset: Dataset;
  /** Problems in single files, in reading order. */
  problems: DatasetProblem[];
  /** Notes for the user (how classes were chosen, which set was read). */
  notes: string[];
}

async function stat(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch {
    return undefined;
  }
}

const trimSlash = (p: string): string => p.length > 1 ? p.replace(/\/+$/, "") : p;

/**
 * Reads a dataset, collecting problems in single files instead of throwing.
 *
 * @param path a VOC root (with `Annotations/`), a COCO instances `.json`, a folder with one
 *   `annotations/instances_*.json`, or a YOLO folder (`labels/`, `data.yaml` or a names file)
 *   or `data.yaml`
 * @throws FileError when `path` is none of these or cannot be read at all
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readDataset } from "./dataset.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/Annotations`);
 * await Deno.writeTextFile(`${root}/Annotations/a.xml`, `<annotation><filename>a.jpg</filename>
 *   <size><width>10</width><height>10</height></size><object><name>cat</name>
 *   <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>`);
 * const { dataset } = await readDataset(root);
 * assert.equal(dataset.format, "voc");
 * assert.deepEqual(dataset.samples[0].objects[0].bboxPx, [0, 0, 5, 5]);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function readDataset(
  path: string,
  opts: DatasetOptions = {},
): Promise<DatasetReadResult> {
  path = trimSlash(path);
  const info = await stat(path);
  if (info === undefined) {
    await Deno.stat(path).catch((err) => {
      throw new FileError(path, describeReadError(err));
    });
  }
  const problems = new ProblemList();
  const notes: string[] = [];
  let dataset: Dataset;
  const kind = await datasetKind(path);
  if (kind === "file") {
    if (!path.endsWith(".json")) {
      throw new FileError(
        path,
        "not a dataset: expected a COCO instances .json, a YOLO data.yaml or a folder",
      );
    }
    dataset = await readCocoDataset(path, opts, problems, notes);
  } else if (kind === "voc") {
    dataset = await readVoc(path, opts, problems, notes);
  } else if (kind === "yolo") {
    const ds = await readYoloDataset(path, opts, problems);
    const samples: Sample[] = [];
    for (const s of ds.samples) {
      const size = await sizeOf(s.imagePath);
      samples.push(size === undefined ? s : scaleYoloBoxes(s, size.width, size.height));
    }
    dataset = { ...ds, samples };
  } else {
    const json = await findCocoJson(path, opts.set);
    if (json === undefined) {
      throw new FileError(
        path,
        "not a dataset: expected a VOC root (Annotations/), a COCO instances JSON, or a YOLO folder (images/ + labels/, data.yaml or classes.txt)",
      );
    }
    dataset = await readCocoDataset(json, opts, problems, notes);
  }
  return { dataset, problems: problems.items, notes };
}

/**
 * What a dataset path holds, as {@link readDataset} tells them apart: a file other than a YAML
 * (a COCO instances JSON, or no dataset), a VOC root (`Annotations/`), a YOLO dataset (a
 * `data.yaml`, or a folder with `labels/`, a yaml or a names file), or another folder (COCO
 * instances files, or no dataset).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetKind } from "./dataset.ts";
 * assert.equal(await datasetKind("data.yaml"), "yolo");
 * assert.equal(await datasetKind("no/such/folder"), "folder");
 * ```
 */
export async function datasetKind(path: string): Promise<"file" | "voc" | "yolo" | "folder"> {
  path = trimSlash(path);
  if ((await stat(path))?.isFile && !isYamlPath(path)) return "file";
  if (await stat(`${path}/Annotations`)) return "voc";
  return await isYoloDataset(path) ? "yolo" : "folder";
}

/**
 * The sets a run validates or evaluates on when none is named, in the order they are looked
 * for (a VOC root evaluated by `ssd eval` prefers `test`: see `readVocImageSet`).
 */
export const HELD_OUT_SETS: readonly string[] = ["val", "test"];

/**
 * The first of `names` that a dataset has as a set: a VOC root's list
 * (`ImageSets/Main/<name>.txt`), a YOLO split (`data.yaml`'s entry, `images/<name>/`,
 * `<name>/images/`) or, in a COCO folder, an instances file of that split
 * (`annotations/instances_<name>*.json`, `<name>/_annotations.coco.json`); `val` also finds
 * Roboflow's `valid`. A COCO file named directly has none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findSet } from "./dataset.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/valid/images`, { recursive: true });
 * await Deno.writeTextFile(`${root}/data.yaml`, "train: ../train/images\nnames: [cat]\n");
 * assert.equal(await findSet(root, ["trainval", "train"]), "train");
 * assert.equal(await findSet(root, ["val", "test"]), "val");
 * assert.equal(await findSet(root, ["test"]), undefined);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function findSet(path: string, names: readonly string[]): Promise<string | undefined> {
  path = trimSlash(path);
  if (await stat(path) === undefined) return undefined;
  const kind = await datasetKind(path);
  if (kind === "file") return undefined;
  if (kind === "voc") {
    for (const n of names) if (await stat(`${path}/ImageSets/Main/${n}.txt`)) return n;
    return undefined;
  }
  if (kind === "yolo") return await firstYoloSplit(path, names);
  const coco = await cocoFiles(path);
  return names.find((n) => cocoSplit(coco, n) !== undefined);
}

/**
 * Reads a dataset and throws its first error.
 *
 * @throws FileError naming the file of the first error-level problem
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDataset } from "./dataset.ts";
 * await assert.rejects(loadDataset("no/such/dir"), { message: "no/such/dir: no such file" });
 * ```
 */
export async function loadDataset(path: string, opts: DatasetOptions = {}): Promise<Dataset> {
  const { dataset, problems } = await readDataset(path, opts);
  const first = problems.find((p) => p.severity === "error");
  if (first !== undefined) throw new FileError(first.file, first.message);
  return dataset;
}

async function sizeOf(path: string): Promise<{ width: number; height: number } | undefined> {
  try {
    return probeImageSize(await Deno.readFile(path));
  } catch {
    return undefined; // missing or unreadable: reported by the linter when it opens the image
  }
}

/** A COCO instances file in a folder and the split its name gives, if any. */
interface CocoFile {
  path: string;
  split?: string;
}

/**
 * The COCO instances files of a folder: `annotations/instances_<split>.json` (COCO's own
 * names), `annotations.json` (`ssd data synth`) or `_annotations.coco.json` in it, or a
 * Roboflow export's `<split>/_annotations.coco.json`.
 */
async function cocoFiles(dir: string): Promise<CocoFile[]> {
  const list = async (sub: string) => {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(sub)) names.push(e.isFile ? e.name : `${e.name}/`);
    } catch { /* not there */ }
    return names.sort();
  };
  const found: CocoFile[] = [];
  for (const sub of [`${dir}/annotations`, dir]) {
    for (const name of await list(sub)) {
      const m = /^(?:instances_?(.*)|annotations|_annotations\.coco)\.json$/.exec(name);
      if (m) found.push({ path: `${sub}/${name}`, split: m[1] || undefined });
    }
    if (found.length > 0) return found;
  }
  for (const name of await list(dir)) {
    const file = `${dir}/${name}_annotations.coco.json`;
    if (name.endsWith("/") && await stat(file)) {
      found.push({ path: file, split: name.slice(0, -1) });
    }
  }
  return found;
}

/** The file of split `set` among `files`: the same name, or the only one it begins (`train2017`). */
function cocoSplit(files: CocoFile[], set: string): CocoFile | undefined {
  const names = set === "val" ? ["val", "valid"] : [set];
  for (const n of names) {
    const exact = files.find((f) => f.split === n);
    if (exact) return exact;
    const prefixed = files.filter((f) => f.split?.startsWith(n));
    if (prefixed.length === 1) return prefixed[0];
  }
  return undefined;
}

/**
 * The COCO instances file of a folder: its only one, or with `set` the one of that split
 * (`annotations/instances_<set>*.json`, `<set>/_annotations.coco.json`); undefined when the
 * folder has none.
 *
 * @throws FileError when it has several and `set` names none of them, or none of split `set`
 */
export async function findCocoJson(dir: string, set?: string): Promise<string | undefined> {
  const found = await cocoFiles(dir);
  if (found.length === 0) return undefined;
  const names = () => found.map((f) => f.path).join(", ");
  if (set !== undefined) {
    const file = cocoSplit(found, set);
    if (file === undefined) throw new FileError(dir, `no COCO file of split "${set}" (${names()})`);
    return file.path;
  }
  if (found.length > 1) {
    throw new FileError(dir, `several COCO files (${names()}); name one, or give --set`);
  }
  return found[0].path;
}

// ---------------------------------------------------------------------------------------- VOC

async function readVoc(
  root: string,
  opts: DatasetOptions,
  problems: ProblemList,
  notes: string[],
): Promise<Dataset> {
  let ids: string[];
  if (await stat(`${root}/ImageSets/Main`)) {
    const lists = await readVocLists(root, opts.set);
    notes.push(
      `image set ${lists.map((l) => `"${l.set}"`).join(" + ")} (${
        lists.reduce((n, l) => n + l.ids.length, 0)
      } ids)`,
    );
    const seen = new Set<string>();
    for (const list of lists) {
      const inList = new Set<string>();
      for (const id of list.ids) {
        if (inList.has(id)) {
          problems.error(`${root}/ImageSets/Main/${list.set}.txt`, `duplicate id "${id}"`);
        }
        inList.add(id);
        seen.add(id);
      }
    }
    ids = [...seen];
  } else {
    ids = [];
    for await (const e of Deno.readDir(`${root}/Annotations`)) {
      if (e.isFile && e.name.endsWith(".xml")) ids.push(e.name.slice(0, -4));
    }
    ids.sort();
    notes.push(`no ImageSets/Main: all ${ids.length} annotation files`);
  }
  const annotations: [string, string, VocAnnotation][] = [];
  for (const id of ids) {
    const file = `${root}/Annotations/${id}.xml`;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      problems.error(file, describeReadError(err));
      continue;
    }
    try {
      annotations.push([id, file, parseVocXml(text, file)]);
    } catch (err) {
      if (!(err instanceof FileError)) throw err;
      problems.error(file, err.reason);
    }
  }
  let classes = opts.classes;
  if (classes === undefined) {
    classes = [...new Set(annotations.flatMap(([, , a]) => a.objects.map((o) => o.name)))].sort();
    notes.push(`classes inferred from the annotations: ${classes.join(", ") || "(none)"}`);
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const samples: Sample[] = [];
  for (const [id, file, ann] of annotations) {
    const objects: GtObject[] = [];
    ann.objects.forEach((o, i) => {
      const where = `object ${i + 1} (${o.name})`;
      const classIndex = index.get(o.name);
      if (classIndex === undefined) {
        problems.error(file, `${where}: unknown class "${o.name}"`);
        return;
      }
      if (o.bbox.some((v) => !Number.isInteger(v))) {
        const normalized = o.bbox.every((v) => v >= 0 && v <= 1);
        problems[normalized ? "error" : "warn"](
          file,
          normalized
            ? `${where}: coordinates ${
              formatBox(o.bbox)
            } look normalized to [0, 1]; VOC wants pixels`
            : `${where}: float coordinates ${
              formatBox(o.bbox)
            } (VOC boxes are integer pixels; some loaders truncate or crash)`,
        );
      }
      objects.push({
        bboxPx: vocToXyxy(o.bbox),
        classIndex,
        difficult: o.difficult,
      });
    });
    const imagePath = await vocImagePath(root, id, ann.filename);
    samples.push({ id, imagePath, width: ann.width, height: ann.height, objects });
  }
  return { format: "voc", root, classes, samples };
}

/**
 * The image set to read: `set`, else `test` or the only list (as `ssd eval`), else — several
 * lists and no `test`, as `ssd data synth` writes (train, val) — all of them.
 */
async function readVocLists(root: string, set: string | undefined) {
  try {
    return [await readVocImageSet(root, set)];
  } catch (err) {
    if (set !== undefined || !(err instanceof FileError) || !/several lists/.test(err.reason)) {
      throw err;
    }
  }
  const names: string[] = [];
  for await (const e of Deno.readDir(`${root}/ImageSets/Main`)) {
    if (e.isFile && /^[^_]+\.txt$/.test(e.name)) names.push(e.name.slice(0, -4));
  }
  return await Promise.all(names.sort().map((name) => readVocImageSet(root, name)));
}

async function vocImagePath(root: string, id: string, filename: string): Promise<string> {
  const dir = `${root}/JPEGImages`;
  const candidates = [`${id}.jpg`, `${id}.jpeg`, `${id}.png`, `${id}.JPG`, `${id}.PNG`];
  if (filename !== "") candidates.unshift(filename);
  for (const name of candidates) {
    if ((await stat(`${dir}/${name}`))?.isFile) return `${dir}/${name}`;
  }
  return `${dir}/${filename !== "" ? filename : `${id}.jpg`}`;
}
