/**
 * A dataset's ground truth in the VOC form the metrics read.
 *
 * @module
 */
import { xyxyToVoc } from "../data/box_px.ts";
import type { Dataset } from "../data/types.ts";
import type { VocGtObject } from "./voc.ts";

/**
 * Sample id → its objects by class name, boxes in VOC 1-based inclusive pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetGroundTruth } from "./dataset_gt.ts";
 * const gt = datasetGroundTruth({
 *   format: "yolo", root: "mem", classes: ["cat"],
 *   samples: [{ id: "a", imagePath: "a.jpg", width: 9, height: 9,
 *     objects: [{ bboxPx: [0, 0, 5, 5], classIndex: 0, difficult: false }] }],
 * });
 * assert.deepEqual(gt.get("a"), [{ name: "cat", difficult: false, bbox: [1, 1, 5, 5] }]);
 * ```
 */
export function datasetGroundTruth(dataset: Dataset): Map<string, VocGtObject[]> {
  return new Map(dataset.samples.map((s) => [
    s.id,
    s.objects.map((o) => ({
      name: dataset.classes[o.classIndex],
      difficult: o.difficult,
      bbox: xyxyToVoc(o.bboxPx),
    })),
  ]));
}
