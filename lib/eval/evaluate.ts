/**
 * Evaluation of files on disk: detects the input formats (a COCO instances JSON or a VOC root;
 * a COCO results JSON or a folder of per-class VOC detection files), converts between the two
 * forms where a metric needs the other, and runs the metrics asked for.
 *
 * Conversions follow the devkit conventions: COCO `[x, y, w, h]` ↔ VOC
 * `[x + 1, y + 1, x + w, y + h]`; COCO `iscrowd` ↔ VOC `difficult`; class = category name.
 *
 * @module
 */
import { FileError } from "../errors.ts";
import { type CocoInstances, type CocoResult, readCocoResults } from "../data/coco.ts";
import { type CocoEvalResult, evaluateCoco } from "./coco.ts";
import { evaluateVoc, type VocDetection, type VocEvalResult, type VocGtObject } from "./voc.ts";
import { cocoBoxToVoc, vocBoxToCoco } from "../data/box_px.ts";
import {
  checkCocoResults,
  loadCocoPair,
  readVocDetections,
  readVocGroundTruth,
  readYoloGroundTruth,
} from "./readers.ts";
import { datasetKind, findCocoJson, findSet, HELD_OUT_SETS } from "../data/dataset.ts";
import { type ConfidenceCurves, confidenceCurves } from "./confidence_curves.ts";
import { type ConfusionMatrix, confusionMatrix } from "./confusion.ts";

/** A metric of `ssd eval`. */
export type EvalMetric = "coco" | "voc07" | "voc";

/** One row of the per-class table. */
export interface EvalClassRow {
  /** The class name. */
  name: string;
  /** Images with at least one non-crowd / non-difficult object of the class. */
  images: number;
  /** Non-crowd / non-difficult objects of the class. */
  instances: number;
}

/** Everything `ssd eval` prints. */
export interface EvalReport {
  /** The ground truth's form. */
  format: "coco" | "voc";
  /** Images of the ground truth, with or without objects. */
  numImages: number;
  /** Classes in report order (COCO: category id order; VOC: sorted names). */
  classes: EvalClassRow[];
  /** pycocotools `COCOeval` (boxes), when `coco` was asked for. */
  coco?: CocoEvalResult;
  /** VOC2007 11-point AP at IoU > 0.5, when `voc07` was asked for. */
  voc07?: VocEvalResult;
  /** VOC2010+ all-point AP at IoU > 0.5, when `voc` was asked for. */
  voc?: VocEvalResult;
  /** P/R/F1 against confidence and the confusion matrix, when asked for (`analysis: true`). */
  analysis?: EvalAnalysis;
}

/**
 * What a person reads besides AP: precision, recall and F1 against the confidence threshold
 * (IoU > 0.5), the threshold of the best mean F1, and the confusion matrix at that threshold.
 */
export interface EvalAnalysis {
  /** P, R and F1 against confidence, per class and averaged, from the all-point matching. */
  curves: ConfidenceCurves;
  /** The confusion matrix of the detections scoring at least `curves.best.confidence`. */
  confusion: ConfusionMatrix;
}

/** Options of {@link evaluateForms} and {@link evaluateFiles}. */
export interface EvaluateOptions {
  /** Also compute {@link EvalAnalysis} (`report.analysis`). Default false. */
  analysis?: boolean;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "no such file or folder"
      : (err as Error).message;
    throw new FileError(path, reason);
  }
}

/** Unique class names for categories (`name`, or `name#id` when names repeat or are empty). */
function categoryNames(gt: CocoInstances): Map<number, string> {
  const count = new Map<string, number>();
  for (const c of gt.categories) count.set(c.name, (count.get(c.name) ?? 0) + 1);
  return new Map(
    gt.categories.map((
      c,
    ) => [c.id, c.name !== "" && count.get(c.name) === 1 ? c.name : `${c.name}#${c.id}`]),
  );
}

/** COCO ground truth and results in VOC form (image id as text, class = category name). */
export function cocoToVoc(
  gt: CocoInstances,
  results: CocoResult[],
): { images: Map<string, VocGtObject[]>; dets: Record<string, VocDetection[]>; classes: string[] } {
  const names = categoryNames(gt);
  const images = new Map<string, VocGtObject[]>(
    [...gt.images].sort((a, b) => a.id - b.id).map((im) => [String(im.id), []]),
  );
  for (const a of gt.annotations) {
    images.get(String(a.image_id))?.push({
      name: names.get(a.category_id)!,
      difficult: Boolean(a.iscrowd),
      bbox: cocoBoxToVoc(a.bbox),
    });
  }
  const classes = [...gt.categories].sort((a, b) => a.id - b.id).map((c) => names.get(c.id)!);
  const dets: Record<string, VocDetection[]> = Object.fromEntries(classes.map((c) => [c, []]));
  for (const r of results) {
    dets[names.get(r.category_id)!]?.push({
      imageId: String(r.image_id),
      score: r.score,
      bbox: cocoBoxToVoc(r.bbox),
    });
  }
  return { images, dets, classes };
}

/**
 * VOC ground truth and detections in COCO form. Image ids are the numbers the names spell when
 * every name is a decimal number, else 1-based positions in sorted name order; category ids
 * are 1-based positions in `classes`.
 */
export function vocToCoco(
  images: Map<string, VocGtObject[]>,
  dets: Record<string, VocDetection[]>,
  classes: string[],
): { gt: CocoInstances; results: CocoResult[] } {
  const names = [...images.keys()];
  const numeric = names.every((n) => /^\d+$/.test(n)) &&
    new Set(names.map(Number)).size === names.length;
  const position = new Map([...names].sort().map((n, i) => [n, i + 1]));
  const idOf = new Map(names.map((n) => [n, numeric ? Number(n) : position.get(n)!]));
  const catOf = new Map(classes.map((c, i) => [c, i + 1]));
  const gt: CocoInstances = {
    images: names.map((n) => ({ id: idOf.get(n)!, file_name: n, width: 0, height: 0 })),
    annotations: [],
    categories: classes.map((c, i) => ({ id: i + 1, name: c })),
  };
  for (const [n, objects] of images) {
    for (const o of objects) {
      const bbox = vocBoxToCoco(o.bbox);
      gt.annotations.push({
        id: gt.annotations.length + 1,
        image_id: idOf.get(n)!,
        category_id: catOf.get(o.name)!,
        bbox,
        area: bbox[2] * bbox[3],
        iscrowd: o.difficult ? 1 : 0,
      });
    }
  }
  const results: CocoResult[] = [];
  for (const [c, list] of Object.entries(dets)) {
    for (const d of list) {
      results.push({
        image_id: idOf.get(d.imageId)!,
        category_id: catOf.get(c)!,
        bbox: vocBoxToCoco(d.bbox),
        score: d.score,
      });
    }
  }
  return { gt, results };
}

function classRows(images: Map<string, VocGtObject[]>, classes: string[]): EvalClassRow[] {
  const rows = new Map(classes.map((c) => [c, { name: c, images: 0, instances: 0 }]));
  for (const objects of images.values()) {
    const seen = new Set<string>();
    for (const o of objects) {
      if (o.difficult) continue;
      const row = rows.get(o.name)!;
      row.instances++;
      if (!seen.has(o.name)) row.images++;
      seen.add(o.name);
    }
  }
  return [...rows.values()];
}

/**
 * Evaluates a results file or folder against a ground truth on disk.
 *
 * @param gtPath a COCO instances JSON (or a folder of them: the split `set`, by default `val`),
 *   a VOC root (`Annotations/`, `ImageSets/Main/<set>.txt`), or a YOLO dataset (folder or
 *   `data.yaml`; per-class files or a COCO results JSON go with it)
 * @param resultsPath a COCO results JSON (with a COCO ground truth) or a folder of per-class VOC
 *   detection files (with a VOC root); either with a YOLO dataset
 * @param options.metrics the metrics (default: `coco` for a results JSON, `voc07` and `voc` for
 *   per-class files)
 * @param options.set the VOC image set (default `test`, or the only list there) or YOLO split
 *   (default `val`, else `test`, else every image)
 * @param options.analysis also compute P/R/F1 curves and the confusion matrix
 * @throws FileError for a missing or malformed file; RangeError when the two forms are mixed
 */
export async function evaluateFiles(
  gtPath: string,
  resultsPath: string,
  options: { metrics?: EvalMetric[]; set?: string } & EvaluateOptions = {},
): Promise<EvalReport> {
  const resultsAreVoc = await isDirectory(resultsPath);
  const kind = await datasetKind(gtPath);
  if (kind === "yolo") return evaluateYoloFiles(gtPath, resultsPath, resultsAreVoc, options);
  if (kind === "folder") {
    // A COCO folder: its instances file (the split's, with several).
    const json = await findCocoJson(gtPath, options.set ?? await findSet(gtPath, HELD_OUT_SETS));
    if (json !== undefined) return evaluateFiles(json, resultsPath, options);
  }
  const gtIsVoc = await isDirectory(gtPath);
  if (gtIsVoc !== resultsAreVoc) {
    throw new RangeError(
      gtIsVoc
        ? `a VOC root as ground truth needs a folder of per-class detection files, got the file ${resultsPath}`
        : `a COCO ground truth needs a COCO results JSON file, got the folder ${resultsPath}`,
    );
  }
  const metrics = options.metrics ?? (gtIsVoc ? ["voc07", "voc"] : ["coco"]);
  let images: Map<string, VocGtObject[]>, dets: Record<string, VocDetection[]>, classes: string[];
  let coco: { gt: CocoInstances; results: CocoResult[] } | undefined;
  if (gtIsVoc) {
    const gt = await readVocGroundTruth(gtPath, options.set);
    images = gt.images;
    dets = await readVocDetections(resultsPath, { set: gt.set, imageIds: new Set(images.keys()) });
    classes = [
      ...new Set([...[...images.values()].flat().map((o) => o.name), ...Object.keys(dets)]),
    ].sort();
  } else {
    coco = await loadCocoPair(gtPath, resultsPath);
    ({ images, dets, classes } = cocoToVoc(coco.gt, coco.results));
  }
  return evaluateForms(
    { format: gtIsVoc ? "voc" : "coco", images, dets, classes, coco },
    metrics,
    options,
  );
}

/**
 * A YOLO dataset against per-class VOC files (`comp4_det_<split>_<class>.txt`, image ids = the
 * dataset's ids) or a COCO results JSON (image and category ids as `ssd eval --model` numbers
 * them: {@link vocToCoco}): the files `ssd eval --model M --data D` writes for a YOLO `D`.
 */
async function evaluateYoloFiles(
  gtPath: string,
  resultsPath: string,
  resultsAreVoc: boolean,
  options: { metrics?: EvalMetric[]; set?: string } & EvaluateOptions,
): Promise<EvalReport> {
  const gt = await readYoloGroundTruth(gtPath, options.set);
  const metrics = options.metrics ?? (resultsAreVoc ? ["voc07", "voc"] : ["coco"]);
  if (resultsAreVoc) {
    const dets = await readVocDetections(resultsPath, {
      set: gt.set ?? "all",
      imageIds: new Set(gt.images.keys()),
    });
    const classes = [...gt.classes, ...Object.keys(dets).filter((c) => !gt.classes.includes(c))];
    return evaluateForms(
      { format: "voc", images: gt.images, dets, classes },
      metrics,
      options,
    );
  }
  const cocoGt = vocToCoco(gt.images, {}, gt.classes).gt;
  const results = await readCocoResults(resultsPath);
  checkCocoResults(results, cocoGt, resultsPath);
  const coco = { gt: cocoGt, results };
  const { images, dets, classes } = cocoToVoc(coco.gt, coco.results);
  return evaluateForms({ format: "coco", images, dets, classes, coco }, metrics, options);
}

/** Ground truth and detections in VOC form, and in COCO form when the input had it. */
export interface EvalInputs {
  /** The ground truth's form. */
  format: "coco" | "voc";
  /** Image id → its ground-truth objects (VOC 1-based inclusive pixels). */
  images: Map<string, VocGtObject[]>;
  /** Class name → its detections (VOC 1-based inclusive pixels). */
  dets: Record<string, VocDetection[]>;
  /** The class names in report order. */
  classes: string[];
  /** The COCO form (keeps COCO `area` fields); made from the VOC form when absent. */
  coco?: { gt: CocoInstances; results: CocoResult[] };
}

/** Runs the metrics asked for on inputs already in memory (and the analysis, if asked). */
export function evaluateForms(
  inputs: EvalInputs,
  metrics: EvalMetric[],
  options: EvaluateOptions = {},
): EvalReport {
  const { images, dets, classes } = inputs;
  const report: EvalReport = {
    format: inputs.format,
    numImages: images.size,
    classes: classRows(images, classes),
  };
  if (metrics.includes("coco")) {
    const coco = inputs.coco ?? vocToCoco(images, dets, classes);
    report.coco = evaluateCoco(coco.gt, coco.results);
  }
  if (metrics.includes("voc07")) report.voc07 = evaluateVoc(images, dets, { use07: true, classes });
  if (metrics.includes("voc")) report.voc = evaluateVoc(images, dets, { use07: false, classes });
  if (options.analysis) {
    // The curves read the all-point evaluation's ranking (made here if not asked for).
    const curves = confidenceCurves(
      report.voc ?? evaluateVoc(images, dets, { use07: false, classes }),
    );
    const confusion = confusionMatrix(images, dets, classes, {
      confidence: curves.best.confidence,
    });
    report.analysis = { curves, confusion };
  }
  return report;
}
