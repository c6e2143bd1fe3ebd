/**
 * Drawing detections on images: a coloured frame per box and a filled tag with readable text
 * (`face 0.98`), sized from the image so labels read the same on a thumbnail and a 4K photo,
 * and placed off the objects where there is room (`label_place.ts`). Text is rendered with
 * imagescript from DejaVu Sans Bold, shipped in `assets/fonts/`.
 *
 * @module
 */
import type { Image } from "imagescript";
import type { RgbImage } from "./types.ts";
import { renderText } from "./text.ts";
import { placeTags, type TagRect } from "./label_place.ts";

/** One box to draw. */
export interface DrawBox {
  /** `[x1, y1, x2, y2]` in pixels of the image (0-based, continuous); clipped when drawn. */
  bboxPx: [number, number, number, number];
  /** The class name shown on the tag. */
  label: string;
  /** Shown with two decimals after the label when given (ground truth has none). */
  score?: number;
  /** Picks the colour (same class, same colour); by default a hash of `label`. */
  classIndex?: number;
}

/** How to draw. Defaults scale with the image's shorter side `s`. */
export interface DrawOptions {
  /** Frame thickness in pixels; default `max(2, round(s / 200))`. */
  lineWidth?: number;
  /** Text height in pixels; default `clamp(round(s / 32), 10, 40)`. */
  fontSize?: number;
  /** Frames only, no tags. */
  hideLabels?: boolean;
  /** Tags without the score (`face` instead of `face 0.98`). */
  hideConf?: boolean;
}

/** Distinct, saturated colours (Tableau 10) for classes; text goes white or black on them. */
const PALETTE: [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

function colourOf(box: DrawBox): [number, number, number] {
  let index = box.classIndex;
  if (index === undefined) {
    index = 0;
    for (const ch of box.label) index = (index * 31 + ch.charCodeAt(0)) >>> 0;
  }
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** Fills the clipped rectangle [x0, x1) × [y0, y1) with a colour. */
function fillRect(
  img: RgbImage,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  rgb: [number, number, number],
): void {
  const xa = Math.max(0, Math.round(x0)), xb = Math.min(img.width, Math.round(x1));
  const ya = Math.max(0, Math.round(y0)), yb = Math.min(img.height, Math.round(y1));
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const i = 3 * (y * img.width + x);
      img.data[i] = rgb[0];
      img.data[i + 1] = rgb[1];
      img.data[i + 2] = rgb[2];
    }
  }
}

/**
 * Blends rendered text (RGBA from `renderText`, alpha = coverage) onto an RGB image in place,
 * its top-left corner at (left, top) pixels; what falls outside the image is dropped.
 */
export function blendText(img: RgbImage, text: Image, left: number, top: number): void {
  const bitmap = text.bitmap;
  for (let ty = 0; ty < text.height; ty++) {
    const y = top + ty;
    if (y < 0 || y >= img.height) continue;
    for (let tx = 0; tx < text.width; tx++) {
      const x = left + tx;
      if (x < 0 || x >= img.width) continue;
      const j = 4 * (ty * text.width + tx), a = bitmap[j + 3] / 255;
      if (a === 0) continue;
      const i = 3 * (y * img.width + x);
      for (let c = 0; c < 3; c++) {
        img.data[i + c] = Math.round(img.data[i + c] * (1 - a) + bitmap[j + c] * a);
      }
    }
  }
}

/** The smallest tag text drawn when tags are shrunk to fit a crowded picture. */
const MIN_FONT = 10;

function boxAreaOf([x1, y1, x2, y2]: readonly number[]): number {
  return Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
}

/** Renders every box's tag text at one size and places the tags. */
async function layTags(
  img: RgbImage,
  boxes: DrawBox[],
  size: number,
  hideConf: boolean,
): Promise<{ texts: Image[]; places: TagRect[]; pad: number }> {
  const pad = Math.max(1, Math.round(size / 8));
  const rendered = new Map<string, Image>();
  const texts: Image[] = [];
  for (const box of boxes) {
    const rgb = colourOf(box);
    const label = box.score === undefined || hideConf
      ? box.label
      : `${box.label} ${box.score.toFixed(2)}`;
    const luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
    const ink = luma > 128 ? 0x000000ff : 0xffffffff;
    const key = `${ink}:${label}`;
    let text = rendered.get(key);
    if (text === undefined) {
      text = await renderText(label, size, ink);
      rendered.set(key, text);
    }
    texts.push(text);
  }
  const places = placeTags(
    boxes.map((b) => b.bboxPx),
    texts.map((t) => ({ width: t.width + 2 * pad, height: t.height + 2 * pad })),
    img,
  );
  return { texts, places, pad };
}

/**
 * Draws boxes with labelled tags on a copy of an image.
 *
 * Each box gets a frame in its class colour (inside the box's edges) and a tag filled with the
 * same colour holding `label score`, placed by `placeTags`: above the box, else below it, else
 * inside its top edge, where it covers the fewest other boxes and tags. Tags are placed in the
 * order of the boxes (give them by score, best first) and drawn after every frame.
 *
 * @param img HWC RGB u8 (not modified)
 * @param boxes boxes in pixels of `img`
 * @param opts line width, font size (defaults scale with the image), tags without scores or none
 * @returns a new image with the drawing
 * @throws RangeError for a line width or font size that is not a positive number
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { drawDetections } from "./draw.ts";
 * const img = { width: 120, height: 80, data: new Uint8Array(120 * 80 * 3) };
 * const out = await drawDetections(img, [{ bboxPx: [20, 30, 100, 70], label: "face", score: 0.98 }]);
 * const at = (x: number, y: number) => [...out.data.subarray(3 * (y * 120 + x), 3 * (y * 120 + x) + 3)];
 * assert.notDeepEqual(at(60, 30), [0, 0, 0]); // the frame's top edge
 * assert.deepEqual(at(60, 50), [0, 0, 0]); // the inside stays untouched
 * assert.equal(img.data[3 * (30 * 120 + 60)], 0); // the input is not modified
 * ```
 */
export async function drawDetections(
  img: RgbImage,
  boxes: DrawBox[],
  opts: DrawOptions = {},
): Promise<RgbImage> {
  const short = Math.min(img.width, img.height);
  const line = opts.lineWidth ?? Math.max(2, Math.round(short / 200));
  const size = opts.fontSize ?? Math.min(40, Math.max(10, Math.round(short / 32)));
  for (const [name, v] of [["lineWidth", line], ["fontSize", size]] as const) {
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(`Cannot draw detections: ${name} must be > 0, got ${v}`);
    }
  }
  const out: RgbImage = { width: img.width, height: img.height, data: img.data.slice() };
  if (boxes.length === 0) return out;
  // Frames first, then tags, so a neighbour's frame never crosses a tag's text.
  for (const box of boxes) {
    const [x1, y1, x2, y2] = box.bboxPx;
    const rgb = colourOf(box);
    fillRect(out, x1, y1, x2, y1 + line, rgb);
    fillRect(out, x1, y2 - line, x2, y2, rgb);
    fillRect(out, x1, y1, x1 + line, y2, rgb);
    fillRect(out, x2 - line, y1, x2, y2, rgb);
  }
  if (opts.hideLabels) return out;
  // The image's size gives the tag text's size; where tags would cover more than 5% of the
  // boxes, smaller sizes are tried, down to 10 px (a crowd of small faces).
  const sizes = [size];
  if (opts.fontSize === undefined) {
    for (let s = Math.floor(size * 0.85); s > MIN_FONT; s = Math.floor(s * 0.85)) sizes.push(s);
    if (size > MIN_FONT) sizes.push(MIN_FONT);
  }
  const boxArea = boxes.reduce((s, b) => s + boxAreaOf(b.bboxPx), 0);
  let tags: { texts: Image[]; places: TagRect[]; pad: number } | undefined;
  for (const s of sizes) {
    tags = await layTags(img, boxes, s, opts.hideConf ?? false);
    const cost = tags.places.reduce((c, p) => c + p.cost, 0);
    if (cost <= 0.05 * boxArea) break;
  }
  const { texts, places, pad } = tags!;
  for (const [i, box] of boxes.entries()) {
    const { left, top, width, height } = places[i];
    fillRect(out, left, top, left + width, top + height, colourOf(box));
    blendText(out, texts[i], left + pad, top + pad);
  }
  return out;
}
