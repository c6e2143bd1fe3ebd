/**
 * YOLO (darknet / ultralytics) datasets: `images/` with a mirror `labels/` of `.txt` files
 * (`class cx cy w h` per line, normalized to [0, 1]), or images and `.txt` files side by side;
 * class names from `data.yaml` (`names:`), `classes.txt` or a `*.names` file (one per line).
 *
 * @module
 */
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { FileError } from "../errors.ts";
import { readTextFileChecked } from "../io/read.ts";
import { describeReadError } from "./image_codec.ts";
import { formatBox, ProblemList } from "./problems.ts";
import type { Dataset, GtObject, Sample } from "./types.ts";
import {
  exists,
  isYamlPath,
  YOLO_SPLITS,
  yoloLabelDir,
  yoloLabelPath,
  type YoloLayout,
  yoloLayout,
  yoloSplit,
} from "./yolo_layout.ts";

const IMAGE_EXT = /\.(jpe?g|png)$/i;

async function listFiles(dir: string, problems: ProblemList, rel = ""): Promise<string[]> {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [];
    for await (const e of Deno.readDir(`${dir}${rel}`)) entries.push(e);
  } catch (err) {
    problems.error(`${dir}${rel}`, `cannot list folder: ${describeReadError(err)}`);
    return out;
  }
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const e of entries) {
    const path = `${rel}/${e.name}`;
    let isDir = e.isDirectory;
    if (e.isSymlink) {
      try {
        isDir = (await Deno.stat(`${dir}${path}`)).isDirectory;
      } catch (err) {
        problems.error(`${dir}${path}`, `cannot read: ${describeReadError(err)}`);
        continue;
      }
    }
    if (isDir) out.push(...await listFiles(dir, problems, path));
    else out.push(path.slice(1));
  }
  return out;
}

/** Class names: the yaml's `names:`, else `classes.txt` or a `*.names` file in the root. */
async function readNames(
  layout: YoloLayout,
): Promise<{ file: string; names: string[] } | undefined> {
  if (layout.yaml?.names !== undefined) return { file: layout.yamlFile!, names: layout.yaml.names };
  const candidates = [`${layout.root}/classes.txt`];
  try {
    for await (const e of Deno.readDir(layout.root)) {
      if (e.isFile && e.name.endsWith(".names")) candidates.push(`${layout.root}/${e.name}`);
    }
  } catch { /* reported by the caller's listing */ }
  for (const file of candidates) {
    if (!await exists(file)) continue;
    const names = (await readTextFileChecked(file)).split(/\r?\n/).map((s) => s.trim())
      .filter((s) => s !== "");
    return { file, names };
  }
  return undefined;
}

/**
 * Whether a path looks like a YOLO dataset: a `.yaml` file, or a folder with `labels/`, a
 * `data.yaml` or a names file.
 */
export async function isYoloDataset(path: string): Promise<boolean> {
  if (isYamlPath(path)) return true;
  return await exists(`${path}/labels`) || await readNames(await yoloLayout(path)) !== undefined;
}

/** Files a dataset keeps beside its labels that are not labels. */
const NOT_LABELS = /^(classes|readme|notes|license)[^/]*\.txt$/i;

/** Images of one split entry: a folder (recursively), a `.txt` list, or one image. */
async function entryImages(entry: string, problems: ProblemList): Promise<string[]> {
  const info = await Deno.stat(entry).catch(() => null);
  if (info?.isDirectory) {
    return (await listFiles(entry, problems)).filter((f) => IMAGE_EXT.test(f))
      .map((f) => `${entry}/${f}`);
  }
  if (!entry.endsWith(".txt")) return [entry];
  const dir = dirname(entry);
  return (await readTextFileChecked(entry)).split(/\r?\n/).map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => isAbsolute(l) ? l : `${dir}/${l.replace(/^\.\//, "")}`);
}

/**
 * Reads a YOLO dataset. Problems in single files (a bad line, a label without an image) are
 * collected, not thrown.
 *
 * @param path the dataset folder, or its `data.yaml` (see {@link yoloLayout})
 * @param opts `set`: a split (`train`, `val`, `test`: the yaml's entry, else `images/<set>` or
 *   `<set>/images`; see {@link yoloSplit}); without it, every image under the root (under
 *   `images/` when there is one); `classes`: the class list to read into (the dataset's own
 *   names, when it has them, are matched to it by name; else they name the label files' indices)
 * @param problems where problems are recorded
 * @returns the dataset (boxes converted to pixels once image sizes are known: here `bboxPx`
 *   holds normalized `xyxy` and `width`/`height` are 0; {@link scaleYoloBoxes} finishes)
 * @throws FileError when there is no names file and no `classes` option, or no such split
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readYoloDataset } from "./yolo.ts";
 * import { ProblemList } from "./problems.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/images`);
 * await Deno.mkdir(`${root}/labels`);
 * await Deno.writeFile(`${root}/images/a.jpg`, new Uint8Array([0xff, 0xd8, 0xff]));
 * await Deno.writeTextFile(`${root}/labels/a.txt`, "1 0.5 0.5 0.2 0.4\n");
 * await Deno.writeTextFile(`${root}/classes.txt`, "cat\ndog\n");
 * const problems = new ProblemList();
 * const ds = await readYoloDataset(root, {}, problems);
 * assert.deepEqual(ds.classes, ["cat", "dog"]);
 * assert.equal(ds.samples[0].objects[0].classIndex, 1);
 * assert.deepEqual(ds.samples[0].objects[0].bboxPx.map((v) => +v.toFixed(6)), [0.4, 0.3, 0.6, 0.7]);
 * assert.deepEqual(problems.items, []);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function readYoloDataset(
  path: string,
  opts: { set?: string; classes?: string[] },
  problems: ProblemList,
): Promise<Dataset> {
  const layout = await yoloLayout(path);
  const root = layout.root;
  const found = await readNames(layout);
  // The label files' index → name table: the dataset's own names, else the names given.
  const names = found?.names ?? opts.classes;
  // Given names with the dataset's own: its objects take the given list's indices, by name.
  const classes = opts.classes ?? names;
  const toGiven = opts.classes !== undefined && found !== undefined
    ? found.names.map((n) => opts.classes!.indexOf(n))
    : undefined;
  if (names === undefined || classes === undefined) {
    throw new FileError(
      path,
      "no class names: expected data.yaml (names:), classes.txt or a *.names file; or pass --classes",
    );
  }
  const entries = opts.set !== undefined
    ? await yoloSplit(layout, opts.set)
    : [await exists(`${root}/images`) ? `${root}/images` : root];
  const images: string[] = [];
  for (const e of entries) images.push(...await entryImages(e, problems));
  // Ids are paths without the extension, relative to the one folder listed, else to the root.
  const base = entries.length === 1 && (await Deno.stat(entries[0]).catch(() => null))?.isDirectory
    ? entries[0]
    : root;
  const idOf = (p: string) =>
    (p.startsWith(`${base}/`) ? p.slice(base.length + 1) : p).replace(IMAGE_EXT, "");
  // Label files where the listed folders keep theirs, to find those without an image.
  const yamlLists = new Set(
    YOLO_SPLITS.flatMap((k) => layout.yaml?.[k] ?? []).map((e) => resolve(root, e)),
  );
  const labels = new Set<string>();
  for (const e of entries) {
    if (!(await Deno.stat(e).catch(() => null))?.isDirectory) continue;
    const dir = yoloLabelDir(e);
    // Unlisted, a labels folder shows as the images' missing label files.
    for (const f of await listFiles(dir, new ProblemList())) {
      const file = `${dir}/${f}`;
      if (f.endsWith(".txt") && !NOT_LABELS.test(basename(f)) && !yamlLists.has(resolve(file))) {
        labels.add(file);
      }
    }
  }
  const samples: Sample[] = [];
  const seen = new Map<string, string>();
  for (const imagePath of images) {
    const id = idOf(imagePath);
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      problems.error(imagePath, `duplicate id "${id}": also ${earlier}`);
      continue;
    }
    seen.set(id, imagePath);
    const label = yoloLabelPath(imagePath);
    const objects: GtObject[] = [];
    labels.delete(label);
    const info = await Deno.stat(label).catch(() => null);
    if (info?.isFile) {
      for (const o of await readLabelFile(label, names, problems)) {
        const k = toGiven === undefined ? o.classIndex : toGiven[o.classIndex];
        if (k >= 0) objects.push({ ...o, classIndex: k });
        else {problems.error(
            label,
            `class "${names[o.classIndex]}" is not one of ${classes.join(", ")}`,
          );}
      }
    } else if (info?.isDirectory) {
      problems.error(label, "is a directory, not a label file");
    } else {
      problems.warn(imagePath, `no label file ${label} (read as an image without objects)`);
    }
    samples.push({ id, imagePath, width: 0, height: 0, objects });
  }
  for (const file of labels) problems.error(file, "label file without an image");
  return { format: "yolo", root, classes: [...classes], samples };
}

async function readLabelFile(
  file: string,
  classes: string[],
  problems: ProblemList,
): Promise<GtObject[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    problems.error(file, describeReadError(err));
    return [];
  }
  const objects: GtObject[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `line ${i + 1}`;
    const fields = line.trim().split(/\s+/);
    const nums = fields.map(Number);
    if (fields.length !== 5 || nums.some((v) => !Number.isFinite(v))) {
      problems.error(
        file,
        `${where}: expected "class cx cy w h", got ${JSON.stringify(line.trim())}`,
      );
      return;
    }
    const [cls, cx, cy, w, h] = nums;
    if (!Number.isInteger(cls) || cls < 0) {
      problems.error(file, `${where}: class must be an integer index, got ${fields[0]}`);
      return;
    }
    if (cls >= classes.length) {
      problems.error(file, `${where}: unknown class ${cls} (${classes.length} names)`);
      return;
    }
    if ([cx, cy, w, h].some((v) => v < 0 || v > 1)) {
      problems.error(
        file,
        `${where}: coordinates ${
          formatBox([cx, cy, w, h])
        } outside [0, 1] (YOLO wants normalized cx cy w h, not pixels)`,
      );
      return;
    }
    if (w <= 0 || h <= 0) {
      problems.error(file, `${where}: zero-area box ${formatBox([cx, cy, w, h])}`);
      return;
    }
    objects.push({
      bboxPx: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
      classIndex: cls,
      difficult: false,
    });
  });
  return objects;
}

/**
 * Turns a YOLO sample's normalized boxes into pixels once its image size is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scaleYoloBoxes } from "./yolo.ts";
 * const s = { id: "a", imagePath: "a.jpg", width: 0, height: 0,
 *   objects: [{ bboxPx: [0.25, 0.5, 0.75, 1] as [number, number, number, number], classIndex: 0, difficult: false }] };
 * assert.deepEqual(scaleYoloBoxes(s, 200, 100).objects[0].bboxPx, [50, 50, 150, 100]);
 * ```
 */
export function scaleYoloBoxes(sample: Sample, width: number, height: number): Sample {
  return {
    ...sample,
    width,
    height,
    objects: sample.objects.map((o) => ({
      ...o,
      bboxPx: [
        o.bboxPx[0] * width,
        o.bboxPx[1] * height,
        o.bboxPx[2] * width,
        o.bboxPx[3] * height,
      ],
    })),
  };
}
