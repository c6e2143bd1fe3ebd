/**
 * YOLO (darknet / ultralytics) datasets: `images/` with a mirror `labels/` of `.txt` files
 * (`class cx cy w h` per line, normalized to [0, 1]), or images and `.txt` files side by side;
 * class names from `data.yaml` (`names:`), `classes.txt` or a `*.names` file (one per line).
 *
 * @module
 */
import { FileError } from "../errors.ts";
import { readTextFileChecked } from "../io/read.ts";
import { describeReadError } from "./image_codec.ts";
import { formatBox, type ProblemList } from "./problems.ts";
import type { Dataset, GtObject, Sample } from "./types.ts";

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/**
 * Reads the class names of a YOLO `data.yaml`: `names: [a, b]`, or a block of `- a` lines, or
 * of `0: a` lines. Only the `names` key is read (no YAML library is needed for it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseYoloYamlNames } from "./yolo.ts";
 * assert.deepEqual(parseYoloYamlNames("nc: 2\nnames: ['cat', dog]\n"), ["cat", "dog"]);
 * assert.deepEqual(parseYoloYamlNames("names:\n  0: cat\n  1: hot dog\n"), ["cat", "hot dog"]);
 * assert.deepEqual(parseYoloYamlNames("names:\n- cat\n- dog\n"), ["cat", "dog"]);
 * assert.equal(parseYoloYamlNames("train: images/train\n"), undefined);
 * ```
 */
export function parseYoloYamlNames(text: string): string[] | undefined {
  const lines = text.split(/\r?\n/);
  const unquote = (s: string) => s.trim().replace(/^(['"])(.*)\1$/, "$2");
  const at = lines.findIndex((l) => /^names\s*:/.test(l));
  if (at < 0) return undefined;
  const rest = lines[at].replace(/^names\s*:/, "").replace(/\s+#.*$/, "").trim();
  if (rest.startsWith("[")) {
    return rest.replace(/^\[|\]$/g, "").split(",").map(unquote).filter((s) => s !== "");
  }
  const names: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const item = /^\s*-\s*(.+)$/.exec(line) ?? /^\s+\d+\s*:\s*(.+)$/.exec(line);
    if (item === null) break;
    names.push(unquote(item[1].replace(/\s+#.*$/, "")));
  }
  return names;
}

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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Finds class names: `data.yaml`, `classes.txt`, `*.names` in `root` (first found). */
async function readNames(root: string): Promise<{ file: string; names: string[] } | undefined> {
  for (const name of ["data.yaml", "dataset.yaml"]) {
    const file = `${root}/${name}`;
    if (!await exists(file)) continue;
    const names = parseYoloYamlNames(await readTextFileChecked(file));
    if (names !== undefined) return { file, names };
  }
  const candidates = [`${root}/classes.txt`];
  try {
    for await (const e of Deno.readDir(root)) {
      if (e.isFile && e.name.endsWith(".names")) candidates.push(`${root}/${e.name}`);
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

/** Whether a folder looks like a YOLO dataset (`labels/`, or a names file beside images). */
export async function isYoloDataset(root: string): Promise<boolean> {
  return await exists(`${root}/labels`) || await readNames(root) !== undefined;
}

/**
 * Reads a YOLO dataset. Problems in single files (a bad line, a label without an image) are
 * collected, not thrown.
 *
 * @param root the dataset folder
 * @param opts `set`: a subfolder of `images/` and `labels/` (`train`, `val`); `classes`: names
 *   to use instead of the dataset's names file
 * @param problems where problems are recorded
 * @returns the dataset (boxes converted to pixels once image sizes are known: here `bboxPx`
 *   holds normalized `xyxy` and `width`/`height` are 0; {@link scaleYoloBoxes} finishes)
 * @throws FileError when there is no names file and no `classes` option
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
  root: string,
  opts: { set?: string; classes?: string[] },
  problems: ProblemList,
): Promise<Dataset> {
  const found = await readNames(root);
  const classes = opts.classes ?? found?.names;
  if (classes === undefined) {
    throw new FileError(
      root,
      "no class names: expected data.yaml (names:), classes.txt or a *.names file; or pass --classes",
    );
  }
  const sub = opts.set === undefined ? "" : `/${opts.set}`;
  const split = await exists(`${root}/images`);
  const imageDir = split ? `${root}/images${sub}` : `${root}${sub}`;
  const labelDir = split ? `${root}/labels${sub}` : `${root}${sub}`;
  const images = (await listFiles(imageDir, problems)).filter((f) => IMAGE_EXT.test(f));
  const labels = new Set(
    (await listFiles(labelDir, problems)).filter((f) =>
      f.endsWith(".txt") && !(labelDir === root && /^(classes|README)/i.test(f))
    ),
  );
  const samples: Sample[] = [];
  const seen = new Map<string, string>();
  for (const rel of images) {
    const stem = rel.replace(IMAGE_EXT, "");
    const imagePath = `${imageDir}/${rel}`;
    const earlier = seen.get(stem);
    if (earlier !== undefined) {
      problems.error(imagePath, `duplicate id "${stem}": also ${earlier}`);
      continue;
    }
    seen.set(stem, imagePath);
    const labelRel = `${stem}.txt`;
    const objects: GtObject[] = [];
    if (labels.delete(labelRel)) {
      objects.push(...await readLabelFile(`${labelDir}/${labelRel}`, classes, problems));
    } else if ((await Deno.stat(`${labelDir}/${labelRel}`).catch(() => null))?.isDirectory) {
      problems.error(`${labelDir}/${labelRel}`, "is a directory, not a label file");
    } else {
      problems.warn(
        imagePath,
        `no label file ${labelDir}/${labelRel} (read as an image without objects)`,
      );
    }
    samples.push({ id: stem, imagePath, width: 0, height: 0, objects });
  }
  for (const rel of labels) problems.error(`${labelDir}/${rel}`, "label file without an image");
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
