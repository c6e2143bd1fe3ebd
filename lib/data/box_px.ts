/**
 * The pixel box formats at the edges of the library, and the one place each conversion is
 * written. Inside the library a pixel box is `xyxy`: 0-based, continuous, `[x1, y1, x2, y2]`.
 *
 * - COCO `[x, y, w, h]`: `xyxy = [x, y, x + w, y + h]`.
 * - VOC XML `[xmin, ymin, xmax, ymax]`, 1-based and inclusive (the devkit measures widths as
 *   `xmax − xmin + 1`): `xyxy = [xmin − 1, ymin − 1, xmax, ymax]`.
 *
 * So the COCO box `[x, y, w, h]` is the VOC box `[x + 1, y + 1, x + w, y + h]`, and the devkit's
 * +1 IoU on VOC boxes equals the plain IoU on the COCO box.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cocoBoxToVoc, cocoToXyxy, vocBoxToCoco, vocToXyxy, xyxyToCoco, xyxyToVoc } from "./box_px.ts";
 * assert.deepEqual(cocoToXyxy([10, 20, 30, 40]), [10, 20, 40, 60]);
 * assert.deepEqual(xyxyToCoco([10, 20, 40, 60]), [10, 20, 30, 40]);
 * assert.deepEqual(vocToXyxy([11, 21, 40, 60]), [10, 20, 40, 60]);
 * assert.deepEqual(xyxyToVoc([10, 20, 40, 60]), [11, 21, 40, 60]);
 * assert.deepEqual(cocoBoxToVoc([10, 20, 30, 40]), [11, 21, 40, 60]);
 * assert.deepEqual(vocBoxToCoco([11, 21, 40, 60]), [10, 20, 30, 40]);
 * ```
 *
 * @module
 */

/** Four numbers: a box in one of the formats above. */
export type Box4 = [number, number, number, number];

/** COCO `[x, y, w, h]` → `xyxy`. */
export function cocoToXyxy([x, y, w, h]: readonly number[]): Box4 {
  return [x, y, x + w, y + h];
}

/** `xyxy` → COCO `[x, y, w, h]`. */
export function xyxyToCoco([x1, y1, x2, y2]: readonly number[]): Box4 {
  return [x1, y1, x2 - x1, y2 - y1];
}

/** VOC 1-based inclusive → `xyxy`. */
export function vocToXyxy([xmin, ymin, xmax, ymax]: readonly number[]): Box4 {
  return [xmin - 1, ymin - 1, xmax, ymax];
}

/** `xyxy` → VOC 1-based inclusive. */
export function xyxyToVoc([x1, y1, x2, y2]: readonly number[]): Box4 {
  return [x1 + 1, y1 + 1, x2, y2];
}

/** COCO `[x, y, w, h]` → VOC, in one step (the arithmetic the references' cases were made with). */
export function cocoBoxToVoc([x, y, w, h]: readonly number[]): Box4 {
  return [x + 1, y + 1, x + w, y + h];
}

/** VOC → COCO `[x, y, w, h]`, in one step: `w = xmax − xmin + 1`. */
export function vocBoxToCoco([xmin, ymin, xmax, ymax]: readonly number[]): Box4 {
  return [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1];
}
