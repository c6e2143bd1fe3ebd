/**
 * Where a YOLO dataset keeps its images, labels and splits, the way ultralytics reads it:
 * `data.yaml` (`path`, `train`, `val`, `test`, `names`), splits as folders or `.txt` lists of
 * images, and each image's label at the same path with its last `images` folder replaced by
 * `labels` (`images/train/a.jpg` → `labels/train/a.txt`, Roboflow's `train/images/a.jpg` →
 * `train/labels/a.txt`; beside the image when the path has no `images` folder).
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { FileError } from "../errors.ts";
import { readTextFileChecked } from "../io/read.ts";

/** The keys of a YOLO `data.yaml` this reader uses. */
export interface YoloYaml {
  /** The dataset root the splits are relative to. */
  path?: string;
  /** Splits: each a folder of images or a `.txt` list of image paths. */
  train?: string[];
  val?: string[];
  test?: string[];
  /** Class names in index order. */
  names?: string[];
}

/** The split keys of a YOLO `data.yaml`. */
export const YOLO_SPLITS = ["train", "val", "test"] as const;

/** Whether a path names a YAML file (a YOLO `data.yaml`) rather than a folder or a JSON. */
export const isYamlPath = (path: string): boolean => /\.ya?ml$/i.test(path);

const unquote = (s: string) => s.trim().replace(/^(['"])(.*)\1$/, "$2");
const uncomment = (s: string) => s.replace(/(^|\s+)#.*$/, "");

/** One top-level key: a scalar, a flow list `[a, b]` or map `{0: a}`, or a block of items. */
function entry(lines: string[], key: string): string | string[] | undefined {
  const at = lines.findIndex((l) => new RegExp(`^${key}\\s*:`).test(l));
  if (at < 0) return undefined;
  const rest = uncomment(lines[at].slice(lines[at].indexOf(":") + 1)).trim();
  if (rest.startsWith("[") || rest.startsWith("{")) {
    return rest.slice(1, rest.endsWith("]") || rest.endsWith("}") ? -1 : undefined).split(",")
      .map((s) => unquote(rest.startsWith("{") ? s.slice(s.indexOf(":") + 1) : s))
      .filter((s) => s !== "");
  }
  if (rest !== "") return unquote(rest);
  const items: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const item = /^\s*-\s*(.+)$/.exec(line) ?? /^\s+\d+\s*:\s*(.+)$/.exec(line);
    if (item === null) break;
    items.push(unquote(uncomment(item[1])));
  }
  return items;
}

/**
 * Reads the keys of a YOLO `data.yaml` this toolkit uses (no YAML library is needed for them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseYoloYaml } from "./yolo_layout.ts";
 * assert.deepEqual(parseYoloYaml("nc: 2\nnames: ['cat', dog]\n").names, ["cat", "dog"]);
 * assert.deepEqual(parseYoloYaml("names:\n  0: cat\n  1: hot dog\n").names, ["cat", "hot dog"]);
 * assert.deepEqual(parseYoloYaml("names:\n- cat\n- dog\n").names, ["cat", "dog"]);
 * assert.deepEqual(parseYoloYaml("names: {0: cat, 1: dog}").names, ["cat", "dog"]);
 * assert.deepEqual(
 *   parseYoloYaml("path: ../d  # root\ntrain: ../train/images\nval: [a, b]\nnames: [x]\n"),
 *   { path: "../d", train: ["../train/images"], val: ["a", "b"], test: undefined, names: ["x"] },
 * );
 * ```
 */
export function parseYoloYaml(text: string): YoloYaml {
  const lines = text.split(/\r?\n/);
  const list = (key: string) => {
    const v = entry(lines, key);
    return v === undefined ? undefined : typeof v === "string" ? [v] : v;
  };
  const path = entry(lines, "path");
  return {
    path: typeof path === "string" && path !== "" ? path : undefined,
    train: list("train"),
    val: list("val"),
    test: list("test"),
    names: list("names"),
  };
}

/**
 * The label file of an image, by ultralytics' rule: the last `/images/` of its path becomes
 * `/labels/` and the extension `.txt`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { yoloLabelPath } from "./yolo_layout.ts";
 * assert.equal(yoloLabelPath("d/images/train/a.jpg"), "d/labels/train/a.txt");
 * assert.equal(yoloLabelPath("d/train/images/a.b.png"), "d/train/labels/a.b.txt");
 * assert.equal(yoloLabelPath("d/a.jpg"), "d/a.txt");
 * ```
 */
export function yoloLabelPath(imagePath: string): string {
  const i = imagePath.lastIndexOf("/images/");
  const p = i < 0 ? imagePath : `${imagePath.slice(0, i)}/labels/${imagePath.slice(i + 8)}`;
  return p.replace(/\.[^./]+$/, ".txt");
}

/** The folder that holds the labels of the images in `dir` (the same rule as {@link yoloLabelPath}). */
export function yoloLabelDir(dir: string): string {
  return dirname(yoloLabelPath(`${dir}/x.jpg`));
}

/** Whether anything (file or folder) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null)) !== null;
}

/** A YOLO dataset's root folder and, when it has one, its `data.yaml`. */
export interface YoloLayout {
  /** The folder the splits and the whole-dataset listing start from. */
  root: string;
  /** The yaml read, if any. */
  yamlFile?: string;
  yaml?: YoloYaml;
}

/**
 * Finds a YOLO dataset's layout from what the user named: a `data.yaml` (its `path:`, relative
 * to the yaml's folder or the working folder, else the yaml's folder) or a folder (with its own
 * `data.yaml` or `dataset.yaml`, if any; a folder named is the root, whatever `path:` says).
 */
export async function yoloLayout(path: string): Promise<YoloLayout> {
  if (isYamlPath(path)) {
    const yaml = parseYoloYaml(await readTextFileChecked(path));
    const here = dirname(path);
    let root = here;
    if (yaml.path !== undefined) {
      const candidates = isAbsolute(yaml.path)
        ? [yaml.path]
        : [resolve(here, yaml.path), resolve(yaml.path)];
      for (const c of candidates) {
        if (await exists(c)) {
          root = c;
          break;
        }
      }
    }
    return { root, yamlFile: path, yaml };
  }
  for (const name of ["data.yaml", "dataset.yaml"]) {
    const file = `${path}/${name}`;
    if (await exists(file)) {
      return { root: path, yamlFile: file, yaml: parseYoloYaml(await readTextFileChecked(file)) };
    }
  }
  return { root: path };
}

/** Where a split's images are: folders and `.txt` lists, as found on disk. */
async function splitEntries(layout: YoloLayout, set: string): Promise<string[] | undefined> {
  const listed = listedSplit(layout, set);
  if (listed !== undefined) {
    const found: string[] = [];
    for (const e of listed) {
      let p = isAbsolute(e) ? e : `${layout.root}/${e}`;
      // Roboflow writes `../train/images` beside the yaml; ultralytics reads it from the root.
      if (!await exists(p) && e.startsWith("../")) p = `${layout.root}/${e.slice(3)}`;
      if (!await exists(p)) return undefined;
      found.push(p);
    }
    return found;
  }
  const aliases = set === "val" ? ["val", "valid"] : [set];
  for (const name of aliases) {
    for (const dir of [`images/${name}`, `${name}/images`, name]) {
      const p = `${layout.root}/${dir}`;
      if ((await Deno.stat(p).catch(() => null))?.isDirectory) return [p];
    }
  }
  return undefined;
}

/** The yaml's entry for a split (`valid` reads `val`), if it has one. */
function listedSplit(layout: YoloLayout, set: string): string[] | undefined {
  const key = set === "valid" ? "val" : set;
  const listed = YOLO_SPLITS.includes(key as typeof YOLO_SPLITS[number])
    ? layout.yaml?.[key as typeof YOLO_SPLITS[number]]
    : undefined;
  return listed !== undefined && listed.length > 0 ? listed : undefined;
}

/**
 * The first of `names` that the YOLO dataset at `path` has as a split: its yaml names it
 * (reading it then says what is missing) or one of the split's folders is there (see
 * {@link yoloSplit}).
 */
export async function firstYoloSplit(
  path: string,
  names: readonly string[],
): Promise<string | undefined> {
  const layout = await yoloLayout(path);
  for (const n of names) {
    if (listedSplit(layout, n) !== undefined || await splitEntries(layout, n) !== undefined) {
      return n;
    }
  }
  return undefined;
}

/**
 * The folders and image lists of a split: `data.yaml`'s entry for it (`valid` reads `val`), else
 * the first folder of `images/<set>`, `<set>/images` and `<set>` (for `val` also `valid`).
 *
 * @throws FileError when the dataset has no such split
 */
export async function yoloSplit(layout: YoloLayout, set: string): Promise<string[]> {
  const found = await splitEntries(layout, set);
  if (found !== undefined) return found;
  const listed = listedSplit(layout, set);
  throw new FileError(
    layout.yamlFile ?? layout.root,
    listed !== undefined
      ? `split "${set}": ${listed.join(", ")} not found under ${layout.root}`
      : `no split "${set}": expected ${
        layout.yaml ? `a "${set}:" entry, ` : ""
      }images/${set}/ or ${set}/images/`,
  );
}
