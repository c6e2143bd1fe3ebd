/**
 * Precision/recall curves as PNG charts a person can read: axes with ticks and grid, axis
 * labels, a title and a legend. Drawn with `imagescript`, text in DejaVu Sans.
 *
 * @module
 */
import { Image } from "imagescript";
import { renderText } from "../data/text.ts";

/** One curve: points `(recall[i], precision[i])`, both in `[0, 1]`, joined in order. */
export interface PrCurve {
  label: string;
  recall: ArrayLike<number>;
  precision: ArrayLike<number>;
}

const WIDTH = 940, HEIGHT = 620;
const LEFT = 80, RIGHT = 300, TOP = 56, BOTTOM = 70;
const PALETTE = [
  0x1f77b4ff,
  0xd62728ff,
  0x2ca02cff,
  0xff7f0eff,
  0x9467bdff,
  0x8c564bff,
  0xe377c2ff,
  0x7f7f7fff,
  0xbcbd22ff,
  0x17becfff,
  0x393b79ff,
  0xad494aff,
  0x637939ff,
  0x8c6d31ff,
  0x843c39ff,
  0x7b4173ff,
  0x3182bdff,
  0xe6550dff,
  0x31a354ff,
  0x756bb1ff,
];
const MAX_LEGEND = 20;

/** Rendered labels (tick values, axis titles recur in every chart). */
const textCache = new Map<string, Image>();
/** Sets one pixel (0-based) if inside the image. */
function plot(img: Image, x: number, y: number, color: number): void {
  x = Math.round(x);
  y = Math.round(y);
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 4;
  img.bitmap[o] = color >>> 24;
  img.bitmap[o + 1] = (color >>> 16) & 0xff;
  img.bitmap[o + 2] = (color >>> 8) & 0xff;
  img.bitmap[o + 3] = 0xff;
}

/** A line of about `thickness` pixels from (x0, y0) to (x1, y1). */
function line(
  img: Image,
  [x0, y0, x1, y1]: [number, number, number, number],
  color: number,
  thickness = 1,
): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
  const r = (thickness - 1) / 2;
  for (let s = 0; s <= steps; s++) {
    const x = x0 + ((x1 - x0) * s) / steps, y = y0 + ((y1 - y0) * s) / steps;
    for (let dx = -r; dx <= r; dx++) {
      for (let dy = -r; dy <= r; dy++) plot(img, x + dx, y + dy, color);
    }
  }
}

/** The image turned 90° counter-clockwise, pixel for pixel (text reading bottom to top). */
function rotateLeft(src: Image): Image {
  const dst = new Image(src.height, src.width);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const from = (y * src.width + x) * 4, to = ((src.width - 1 - x) * src.height + y) * 4;
      for (let c = 0; c < 4; c++) dst.bitmap[to + c] = src.bitmap[from + c];
    }
  }
  return dst;
}

async function text(
  img: Image,
  value: string,
  [x, y]: [number, number],
  options: { size?: number; align?: "left" | "center" | "right"; rotate?: boolean } = {},
): Promise<void> {
  const key = `${options.size ?? 14}|${options.rotate ? 1 : 0}|${value}`;
  let rendered = textCache.get(key);
  if (rendered === undefined) {
    rendered = await renderText(value, options.size ?? 14, 0x000000ff);
    if (options.rotate) rendered = rotateLeft(rendered);
    if (textCache.size < 512) textCache.set(key, rendered);
  }
  const w = rendered.width, h = rendered.height;
  const left = options.align === "center" ? x - w / 2 : options.align === "right" ? x - w : x;
  img.composite(rendered, Math.round(left), Math.round(y - h / 2));
}

/**
 * Draws precision/recall curves on one chart and encodes it as PNG.
 *
 * @param curves the curves (the first 20 get legend entries and distinct colours)
 * @param options.title the chart title
 * @returns PNG bytes of a 900×620 chart
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { drawPrCurves } from "./plots.ts";
 * const png = await drawPrCurves([{ label: "dog", recall: [0, 0.5, 1], precision: [1, 1, 0.5] }], {
 *   title: "dog",
 * });
 * assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
 * ```
 */
export async function drawPrCurves(
  curves: PrCurve[],
  options: { title: string },
): Promise<Uint8Array> {
  const img = new Image(WIDTH, HEIGHT).fill(0xffffffff);
  const pw = WIDTH - LEFT - RIGHT, ph = HEIGHT - TOP - BOTTOM;
  const px = (r: number) => LEFT + r * pw, py = (p: number) => TOP + (1 - p) * ph;
  for (let i = 0; i <= 10; i++) {
    const v = i / 10;
    line(img, [px(v), py(0), px(v), py(1)], 0xe0e0e0ff);
    line(img, [px(0), py(v), px(1), py(v)], 0xe0e0e0ff);
    line(img, [px(v), py(0), px(v), py(0) + 6], 0x000000ff);
    line(img, [px(0) - 6, py(v), px(0), py(v)], 0x000000ff);
    await text(img, v.toFixed(1), [px(v), py(0) + 18], { size: 13, align: "center" });
    await text(img, v.toFixed(1), [px(0) - 10, py(v)], { size: 13, align: "right" });
  }
  line(img, [px(0), py(0), px(1), py(0)], 0x000000ff, 2);
  line(img, [px(0), py(0), px(0), py(1)], 0x000000ff, 2);
  line(img, [px(1), py(0), px(1), py(1)], 0x000000ff);
  line(img, [px(0), py(1), px(1), py(1)], 0x000000ff);
  curves.forEach((curve, c) => {
    const color = PALETTE[c % PALETTE.length];
    for (let i = 1; i < curve.recall.length; i++) {
      const seg: [number, number, number, number] = [
        px(curve.recall[i - 1]),
        py(curve.precision[i - 1]),
        px(curve.recall[i]),
        py(curve.precision[i]),
      ];
      if (seg.every(Number.isFinite)) line(img, seg, color, 2);
    }
    if (curve.recall.length === 1) {
      line(
        img,
        [
          px(curve.recall[0]) - 2,
          py(curve.precision[0]),
          px(curve.recall[0]) + 2,
          py(curve.precision[0]),
        ],
        color,
        3,
      );
    }
  });
  await text(img, options.title, [LEFT + pw / 2, TOP / 2], { size: 18, align: "center" });
  await text(img, "Recall", [LEFT + pw / 2, HEIGHT - 22], { size: 15, align: "center" });
  await text(img, "Precision", [22, TOP + ph / 2], { size: 15, rotate: true });
  const shown = curves.slice(0, MAX_LEGEND);
  for (let c = 0; c < shown.length; c++) {
    const y = TOP + 10 + c * 24;
    line(img, [WIDTH - RIGHT + 20, y, WIDTH - RIGHT + 48, y], PALETTE[c % PALETTE.length], 3);
    const label = shown[c].label.length > 40 ? `${shown[c].label.slice(0, 39)}…` : shown[c].label;
    await text(img, label, [WIDTH - RIGHT + 56, y], { size: 12 });
  }
  if (curves.length > MAX_LEGEND) {
    await text(img, `… and ${curves.length - MAX_LEGEND} more`, [
      WIDTH - RIGHT + 56,
      TOP + 10 + MAX_LEGEND * 24,
    ], { size: 13 });
  }
  return await img.encode();
}
