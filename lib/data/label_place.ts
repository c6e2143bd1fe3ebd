/**
 * Where the label tag of each drawn box goes: inside the image, and off the objects where the
 * picture has room. A tag is tried above its box, then below it, then inside its top edge,
 * each flush with the box's left edge or its right edge (and moved back into the image); the
 * first place that covers no box (its own included) and no tag already placed wins, else the
 * place covering the least area (tags count three times: covered text cannot be read).
 *
 * @module
 */

/** A placed tag: a rectangle in pixels, and what it covers. */
export interface TagRect {
  left: number;
  top: number;
  width: number;
  height: number;
  /**
   * Pixels of boxes (its own included) under it, plus three times those of earlier tags (plus
   * its own area when it had to be moved back into the image).
   */
  cost: number;
}

/** Intersection area of two `xyxy` rectangles. */
function overlap(a: readonly number[], b: readonly number[]): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Places one tag per box, in the order given (put higher scores first: they choose first).
 *
 * @param boxes `[N]` boxes `xyxy` in pixels (outer edges of the drawn frames)
 * @param tags `[N]` tag sizes in pixels
 * @param image the image's size; every tag is kept inside it (a tag wider or taller than the
 *   image is put at its left or top edge)
 * @returns `[N]` integer tag rectangles, each with the area it covers
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { placeTags } from "./label_place.ts";
 * const image = { width: 200, height: 100 };
 * // Room above: the tag sits on the box's top edge, outside it.
 * assert.deepEqual(placeTags([[50, 40, 90, 80]], [{ width: 30, height: 12 }], image),
 *   [{ left: 50, top: 28, width: 30, height: 12, cost: 0 }]);
 * // At the top of the image: below the box.
 * assert.deepEqual(placeTags([[50, 0, 90, 40]], [{ width: 30, height: 12 }], image),
 *   [{ left: 50, top: 40, width: 30, height: 12, cost: 0 }]);
 * ```
 */
export function placeTags(
  boxes: readonly (readonly number[])[],
  tags: readonly { width: number; height: number }[],
  image: { width: number; height: number },
): TagRect[] {
  if (boxes.length !== tags.length) {
    throw new RangeError(
      `Cannot place tags: ${boxes.length} boxes and ${tags.length} tag sizes`,
    );
  }
  const placed: number[][] = []; // xyxy of the tags placed so far
  const out: TagRect[] = [];
  // Whole pixels, as the frames are drawn: a tag above a box touches it without covering it.
  const rounded = boxes.map((b) => b.map(Math.round));
  for (const [i, [x1, y1, x2, y2]] of rounded.entries()) {
    const { width: w, height: h } = tags[i];
    const fitX = (x: number) => Math.max(0, Math.min(x, image.width - w));
    const fitY = (y: number) => Math.max(0, Math.min(y, image.height - h));
    // Flush left, flush right, then slid between the two in quarter-tag steps (the tag always
    // touches the box's column, so it reads as the box's).
    const slide = [x1, x2 - w];
    const step = Math.max(1, Math.round(w / 4));
    for (let x = Math.min(x1, x2 - w) + step; x < Math.max(x1, x2 - w); x += step) slide.push(x);
    const lefts = [...new Set(slide.map(fitX))];
    // [left, top, penalty]: a place above or below that had to be moved back into the image is
    // not above or below any more; it counts as covering a tag's area, so the place inside the
    // top edge is taken before it.
    const candidates: [number, number, number][] = [];
    for (const top of [y1 - h, y2, y1]) {
      for (const left of lefts) candidates.push([left, fitY(top), fitY(top) !== top ? w * h : 0]);
    }
    let best: [number, number] | undefined, bestCost = Infinity;
    for (const [left, top, penalty] of candidates) {
      const rect = [left, top, left + w, top + h];
      // Its own box counts too: a tag pushed back into the image, or inside, covers its object.
      let cost = penalty;
      for (const other of rounded) cost += overlap(rect, other);
      for (const tag of placed) cost += 3 * overlap(rect, tag);
      if (cost < bestCost) {
        bestCost = cost;
        best = [left, top];
        if (cost === 0) break;
      }
    }
    const [left, top] = best!;
    placed.push([left, top, left + w, top + h]);
    out.push({ left, top, width: w, height: h, cost: bestCost });
  }
  return out;
}
