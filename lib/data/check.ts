/**
 * The dataset linter behind `ssd data check`: finds, per file, the mistakes that make SSD
 * training produce NaN or zero loss or silently learn the wrong thing — float or swapped
 * coordinates, boxes outside the image or of zero area, empty images, duplicate ids, unknown
 * classes, missing or corrupt image files — and sums them up.
 *
 * @module
 */
import { FileError } from "../errors.ts";
import { type DatasetOptions, readDataset } from "./dataset.ts";
import { describeReadError, inspectImage } from "./image_codec.ts";
import { type DatasetProblem, formatBox, ProblemList } from "./problems.ts";
import type { Dataset, Sample } from "./types.ts";
import { yoloLabelPath } from "./yolo_layout.ts";

/** Options of {@link checkDataset}. */
export interface CheckOptions extends DatasetOptions {
  /** Decode every image (finds corrupt files and wrong sizes; default true). */
  decode?: boolean;
  /** Called after each image. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link checkDataset} found. */
export interface CheckReport {
  /** The format the dataset was read as. */
  format: Dataset["format"];
  /** Where it was read from. */
  root: string;
  /** Class names without background. */
  classes: string[];
  /** Number of images (samples) read. */
  images: number;
  /** Number of ground-truth objects over all images. */
  objects: number;
  /** Number of problems of severity `error`. */
  errors: number;
  /** Number of problems of severity `warning`. */
  warnings: number;
  /** In reading order: layout and annotation problems, then per image. */
  problems: DatasetProblem[];
  /** How the dataset was read (image set, inferred classes). */
  notes: string[];
}

/** The file to blame for a sample's annotation problems. */
function annotationFile(dataset: Dataset, sample: Sample): string {
  if (dataset.format === "voc") return `${dataset.root}/Annotations/${sample.id}.xml`;
  if (dataset.format === "coco") return dataset.root;
  return yoloLabelPath(sample.imagePath);
}

async function checkImage(
  sample: Sample,
  decode: boolean,
  problems: ProblemList,
): Promise<{ width: number; height: number } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(sample.imagePath);
  } catch (err) {
    const why = describeReadError(err);
    problems.error(sample.imagePath, why === "no such file" ? "missing image file" : why);
    return undefined;
  }
  if (!decode) return undefined;
  try {
    const { image, warnings } = await inspectImage(bytes, sample.imagePath);
    for (const w of warnings) problems.warn(sample.imagePath, `decoder warning: ${w}`);
    return { width: image.width, height: image.height };
  } catch (err) {
    if (!(err instanceof FileError)) throw err;
    problems.error(sample.imagePath, err.reason);
    return undefined;
  }
}

function checkObjects(
  dataset: Dataset,
  sample: Sample,
  size: { width: number; height: number } | undefined,
  problems: ProblemList,
): void {
  const file = annotationFile(dataset, sample);
  const where = dataset.format === "coco" ? `image ${sample.id} (${sample.imagePath})` : "";
  const say = (msg: string) => where === "" ? msg : `${where}: ${msg}`;
  const hasErrors = problems.hasError(file);
  if (sample.objects.length === 0 && (!hasErrors || dataset.format === "coco")) {
    problems.warn(file, say("no objects (the image only teaches background)"));
  }
  const W = size?.width ?? sample.width, H = size?.height ?? sample.height;
  sample.objects.forEach((o, i) => {
    const label = `object ${i + 1} (${dataset.classes[o.classIndex]})`;
    const [x1, y1, x2, y2] = o.bboxPx;
    const box = formatBox(o.bboxPx);
    // COCO's negative w/h are reported by the reader already.
    if (x2 < x1 || y2 < y1) {
      if (dataset.format !== "coco") {
        problems.error(file, say(`${label}: swapped coordinates ${box} (x1 > x2 or y1 > y2)`));
      }
      return;
    }
    if (x2 === x1 || y2 === y1) {
      problems.error(file, say(`${label}: zero-area box ${box}`));
      return;
    }
    if (W > 0 && H > 0) {
      if (x2 <= 0 || y2 <= 0 || x1 >= W || y1 >= H) {
        problems.error(file, say(`${label}: box ${box} entirely outside the ${W}×${H} image`));
        return;
      }
      if (x1 < 0 || y1 < 0 || x2 > W || y2 > H) {
        problems.warn(
          file,
          say(`${label}: box ${box} extends outside the ${W}×${H} image (clipped in training)`),
        );
      }
    }
    if (x2 - x1 < 1 || y2 - y1 < 1) {
      problems.warn(file, say(`${label}: box ${box} is smaller than one pixel`));
    }
  });
}

/**
 * Lints a dataset: reads it (see `readDataset`), opens every image, checks every box.
 *
 * @param path a VOC root, a COCO instances JSON, or a YOLO folder
 * @param opts set, classes, image folder, whether to decode images, progress callback
 * @returns the problems, counts and a summary (`errors > 0` means the dataset is not usable)
 * @throws FileError when `path` is not a dataset at all
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDataset } from "./check.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/Annotations`);
 * await Deno.writeTextFile(`${root}/Annotations/a.xml`, `<annotation><size><width>10</width>
 *   <height>10</height></size><object><name>cat</name><bndbox><xmin>8</xmin><ymin>1</ymin>
 *   <xmax>3</xmax><ymax>5</ymax></bndbox></object></annotation>`);
 * const report = await checkDataset(root);
 * const lines = report.problems.map((p) => `${p.file.slice(root.length)}: ${p.message}`);
 * assert.ok(lines.includes("/JPEGImages/a.jpg: missing image file"));
 * assert.ok(lines.includes("/Annotations/a.xml: object 1 (cat): swapped coordinates [7, 0, 3, 5] (x1 > x2 or y1 > y2)"));
 * assert.equal(report.errors, 2);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function checkDataset(path: string, opts: CheckOptions = {}): Promise<CheckReport> {
  const { dataset, problems: readProblems, notes } = await readDataset(path, opts);
  const problems = new ProblemList();
  readProblems.forEach((p) => problems.add(p));
  const decode = opts.decode ?? true;
  let objects = 0;
  for (const [i, sample] of dataset.samples.entries()) {
    const size = await checkImage(sample, decode, problems);
    if (size !== undefined && sample.width > 0 && sample.height > 0 && dataset.format !== "yolo") {
      if (size.width !== sample.width || size.height !== sample.height) {
        problems.error(
          sample.imagePath,
          `size ${size.width}×${size.height} differs from the annotation's ${sample.width}×${sample.height} (${
            annotationFile(dataset, sample)
          })`,
        );
      }
    }
    checkObjects(dataset, sample, size, problems);
    objects += sample.objects.length;
    opts.onProgress?.(i + 1, dataset.samples.length);
  }
  if (dataset.samples.length === 0) problems.error(dataset.root, "no images");
  else if (objects === 0) problems.error(dataset.root, "no objects in the whole dataset");
  const used = new Set(dataset.samples.flatMap((s) => s.objects.map((o) => o.classIndex)));
  dataset.classes.forEach((c, i) => {
    if (!used.has(i) && objects > 0) problems.warn(dataset.root, `class "${c}" has no instances`);
  });
  const items = problems.items;
  return {
    format: dataset.format,
    root: dataset.root,
    classes: dataset.classes,
    images: dataset.samples.length,
    objects,
    errors: items.filter((p) => p.severity === "error").length,
    warnings: items.filter((p) => p.severity === "warning").length,
    problems: items,
    notes,
  };
}
