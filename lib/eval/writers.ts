/**
 * Writing detections in the two results formats `ssd eval --results` reads (`readers.ts`), so a
 * run's detections can be evaluated again, or by the reference tools:
 *
 * - per-class VOC files `comp4_det_<set>_<class>.txt` as the devkit writes them (py-faster-rcnn
 *   `_write_voc_results_file`): one line `<image> <score> <xmin> <ymin> <xmax> <ymax>` per
 *   detection, 1-based pixels, one file per class (empty when the class has no detection);
 * - a COCO results JSON list `[{image_id, category_id, bbox: [x, y, w, h], score}]`.
 *
 * Numbers are written in the shortest form that reads back as the same double (the devkit
 * rounds to 3 and 1 decimals; that would change ties and the AP), so evaluating the files gives
 * exactly the numbers of the run that wrote them.
 *
 * @module
 */
import { FileError } from "../errors.ts";
import type { CocoResult } from "../data/coco.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { VocDetection } from "./voc.ts";

/**
 * One class's detections as the lines of a VOC results file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatVocDetections } from "./writers.ts";
 * import { parseVocDetections } from "./readers.ts";
 * const dets = [{ imageId: "000001", score: 0.123456789, bbox: [1.5, 2, 30.25, 40] as [number, number, number, number] }];
 * const text = formatVocDetections(dets);
 * assert.equal(text, "000001 0.123456789 1.5 2 30.25 40\n");
 * assert.deepEqual(parseVocDetections(text, "cat.txt"), dets);
 * ```
 */
export function formatVocDetections(dets: readonly VocDetection[]): string {
  return dets.map((d) => `${d.imageId} ${d.score} ${d.bbox.join(" ")}\n`).join("");
}

/** The devkit's file name for a class's detections: `comp4_det_<set>_<class>.txt`. */
export function vocResultsFileName(set: string, className: string): string {
  return `comp4_det_${set}_${className}.txt`;
}

/**
 * Writes one `comp4_det_<set>_<class>.txt` per class into `dir` (which must exist).
 *
 * @param dets class name → detections (VOC 1-based pixels), every class of `classes`
 * @returns the paths written
 * @throws FileError for a class or image name that the format cannot hold (a path separator;
 *   whitespace in an image name), or a file that cannot be written
 */
export async function writeVocDetections(
  dir: string,
  set: string,
  classes: readonly string[],
  dets: Record<string, readonly VocDetection[]>,
): Promise<string[]> {
  const written: string[] = [];
  for (const name of classes) {
    const path = `${dir}/${vocResultsFileName(set, name)}`;
    if (/[\/\\]/.test(name) || /[\/\\\s]/.test(set)) {
      throw new FileError(path, `class "${name}" or set "${set}" cannot be part of a file name`);
    }
    const list = dets[name] ?? [];
    const bad = list.find((d) => /\s/.test(d.imageId) || d.imageId === "");
    if (bad !== undefined) {
      throw new FileError(
        path,
        `image name "${bad.imageId}" cannot be written in a VOC results file`,
      );
    }
    await writeFileAtomic(path, formatVocDetections(list));
    written.push(path);
  }
  return written;
}

/** Writes a COCO results JSON list. */
export async function writeCocoResults(
  path: string,
  results: readonly CocoResult[],
): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(results) + "\n");
}
