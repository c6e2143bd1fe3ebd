/**
 * Evaluation of a model's detections on a dataset read by `loadDataset` (VOC, COCO or YOLO):
 * the glue behind `ssd eval --model M --data D`. The ground truth and detections are put in
 * the two forms the metrics read, then {@link evaluateForms} runs them, so the numbers are the
 * same as `ssd eval --gt … --results …` on the files the same detections would make.
 *
 * A COCO dataset keeps its own image ids, category ids and `area` fields; VOC and YOLO
 * datasets are converted (`area` = w·h).
 *
 * @module
 */
import type { Dataset } from "../data/types.ts";
import { type CocoInstances, type CocoResult, readCocoInstances } from "../data/coco.ts";
import {
  type EvalInputs,
  type EvalMetric,
  type EvalReport,
  evaluateForms,
  type EvaluateOptions,
} from "./evaluate.ts";
import { xyxyToCoco, xyxyToVoc } from "../data/box_px.ts";
import type { VocDetection } from "./voc.ts";
import { datasetGroundTruth } from "./dataset_gt.ts";

/** One detection on an image of the dataset, in pixels (0-based, continuous `xyxy`). */
export interface DatasetDetection {
  /** `[x1, y1, x2, y2]` in pixels of the image. */
  bboxPx: [number, number, number, number];
  /** Confidence; higher ranks first. */
  score: number;
  /** Class name; detections of classes the dataset does not have are left out. */
  className: string;
}

/**
 * Evaluates detections (by sample id) against a dataset's ground truth.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateDataset } from "./dataset_eval.ts";
 * const dataset = {
 *   format: "voc" as const, root: "mem", classes: ["cat"],
 *   samples: [{ id: "a", imagePath: "a.jpg", width: 100, height: 100,
 *     objects: [{ bboxPx: [10, 10, 50, 50] as [number, number, number, number], classIndex: 0, difficult: false }] }],
 * };
 * const dets = new Map([["a", [{ bboxPx: [10, 10, 50, 50] as [number, number, number, number], score: 0.9, className: "cat" }]]]);
 * const report = await evaluateDataset(dataset, dets, ["voc07", "coco"]);
 * assert.ok(Math.abs(report.voc07!.mAP - 1) < 1e-12); // 11 points summed as numpy does
 * assert.ok(Math.abs(report.coco!.stats[0] - 1) < 1e-12);
 * ```
 */
export async function evaluateDataset(
  dataset: Dataset,
  detections: Map<string, DatasetDetection[]>,
  metrics: EvalMetric[],
  options: EvaluateOptions = {},
): Promise<EvalReport> {
  const inputs = await datasetEvalInputs(dataset, detections, { coco: metrics.includes("coco") });
  return evaluateForms(inputs, metrics, options);
}

/**
 * A dataset's ground truth and detections in the forms the metrics read: VOC form always (VOC
 * 1-based pixels, image id = sample id), and for a COCO dataset with `coco` the COCO form of
 * its own instances file (ids, `area` fields and crowd flags as pycocotools reads them).
 */
export async function datasetEvalInputs(
  dataset: Dataset,
  detections: Map<string, DatasetDetection[]>,
  options: { coco: boolean },
): Promise<EvalInputs> {
  const known = new Set(dataset.classes);
  const images = datasetGroundTruth(dataset);
  const dets: Record<string, VocDetection[]> = Object.fromEntries(
    dataset.classes.map((c) => [c, []]),
  );
  for (const s of dataset.samples) {
    for (const d of detections.get(s.id) ?? []) {
      if (!known.has(d.className)) continue;
      dets[d.className].push({ imageId: s.id, score: d.score, bbox: xyxyToVoc(d.bboxPx) });
    }
  }
  const classes = [...dataset.classes];
  let coco: { gt: CocoInstances; results: CocoResult[] } | undefined;
  if (dataset.format === "coco" && options.coco) {
    // The instances file itself: its ids, `area` fields and crowd flags, as pycocotools reads it.
    const gt = await readCocoInstances(dataset.root);
    const catId = new Map(gt.categories.map((c) => [c.name, c.id]));
    const results: CocoResult[] = [];
    for (const s of dataset.samples) {
      for (const d of detections.get(s.id) ?? []) {
        const id = catId.get(d.className);
        if (id === undefined) continue;
        results.push({
          image_id: Number(s.id),
          category_id: id,
          bbox: xyxyToCoco(d.bboxPx),
          score: d.score,
        });
      }
    }
    coco = { gt, results };
  }
  return { format: dataset.format === "coco" ? "coco" : "voc", images, dets, classes, coco };
}
