/**
 * Line charts on an imagescript canvas, for the precision/recall curves (`plots.ts`) and the
 * training curves (`../train/curves.ts`): a framed plot area with grid, ticks and tick labels,
 * a title and axis labels, polylines in a fixed palette, and a legend. Text in DejaVu Sans.
 *
 * @module
 */
import { Image } from "imagescript";
import { renderText } from "../data/text.ts";

/** Distinct line colours (Tableau 20 order), `0xRRGGBBAA`. */
export const CHART_PALETTE: readonly number[] = [
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

/** A line of about `thickness` pixels from (x0, y0) to (x1, y1), in canvas pixels. */
export function drawLine(
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

/**
 * Black text whose anchor `(x, y)` is its vertical middle and its left edge, centre or right
 * edge (`align`); `rotate` turns it to read bottom to top.
 *
 * @returns the drawn text's width in pixels
 */
export async function drawText(
  img: Image,
  value: string,
  [x, y]: [number, number],
  options: { size?: number; align?: "left" | "center" | "right"; rotate?: boolean } = {},
): Promise<number> {
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
  return w;
}

/** One axis: its range, where ticks and grid lines go, how tick values read, its title. */
export interface ChartAxis {
  min: number;
  max: number;
  /** Tick values, inside `[min, max]`. */
  ticks: readonly number[];
  /** Tick label of a value. */
  format: (v: number) => string;
  label: string;
}

/** A plot area in canvas pixels and what frames it. */
export interface ChartFrame {
  /** The plot area: its top-left corner and size in canvas pixels. */
  left: number;
  top: number;
  width: number;
  height: number;
  x: ChartAxis;
  y: ChartAxis;
  /** Drawn 28 px above the plot area. */
  title: string;
}

/** Maps data coordinates to canvas pixels in a frame (y grows upwards). */
export interface ChartScale {
  px(x: number): number;
  py(y: number): number;
}

/** The data-to-pixel mapping of a frame. */
export function chartScale(frame: ChartFrame): ChartScale {
  const { left, top, width, height, x, y } = frame;
  return {
    px: (v) => left + ((v - x.min) / (x.max - x.min)) * width,
    py: (v) => top + (1 - (v - y.min) / (y.max - y.min)) * height,
  };
}

/**
 * Draws a frame: grey grid lines at the ticks, tick marks with labels, the axes (bold left and
 * bottom), the title above and the axis labels below and left (the y label, reading upwards,
 * 58 px left of the area or left of the widest tick label).
 *
 * @returns the frame's data-to-pixel mapping
 */
export async function drawFrame(img: Image, frame: ChartFrame): Promise<ChartScale> {
  const s = chartScale(frame);
  const { x, y } = frame;
  const [x0, x1, y0, y1] = [s.px(x.min), s.px(x.max), s.py(y.min), s.py(y.max)];
  for (const v of x.ticks) {
    drawLine(img, [s.px(v), y0, s.px(v), y1], 0xe0e0e0ff);
    drawLine(img, [s.px(v), y0, s.px(v), y0 + 6], 0x000000ff);
    await drawText(img, x.format(v), [s.px(v), y0 + 18], { size: 13, align: "center" });
  }
  let widest = 0;
  for (const v of y.ticks) {
    drawLine(img, [x0, s.py(v), x1, s.py(v)], 0xe0e0e0ff);
    drawLine(img, [x0 - 6, s.py(v), x0, s.py(v)], 0x000000ff);
    const w = await drawText(img, y.format(v), [x0 - 10, s.py(v)], { size: 13, align: "right" });
    widest = Math.max(widest, w);
  }
  drawLine(img, [x0, y0, x1, y0], 0x000000ff, 2);
  drawLine(img, [x0, y0, x0, y1], 0x000000ff, 2);
  drawLine(img, [x1, y0, x1, y1], 0x000000ff);
  drawLine(img, [x0, y1, x1, y1], 0x000000ff);
  const cx = frame.left + frame.width / 2, cy = frame.top + frame.height / 2;
  await drawText(img, frame.title, [cx, frame.top - 28], { size: 18, align: "center" });
  await drawText(img, x.label, [cx, y0 + 48], { size: 15, align: "center" });
  // Left of the widest tick label, and never nearer the axis than 58 px.
  const yLabelX = frame.left - Math.max(58, 10 + widest + 22);
  await drawText(img, y.label, [yLabelX, cy], { size: 15, rotate: true });
  return s;
}

/**
 * Joins points `(xs[i], ys[i])` in order (segments with a non-finite end are skipped); a lone
 * point becomes a short dash, and `markers` puts a small square on every point.
 */
export function drawPolyline(
  img: Image,
  scale: ChartScale,
  points: { xs: ArrayLike<number>; ys: ArrayLike<number> },
  style: { color: number; thickness?: number; markers?: boolean },
): void {
  const { xs, ys } = points, { color, thickness = 2 } = style;
  for (let i = 1; i < xs.length; i++) {
    const seg: [number, number, number, number] = [
      scale.px(xs[i - 1]),
      scale.py(ys[i - 1]),
      scale.px(xs[i]),
      scale.py(ys[i]),
    ];
    if (seg.every(Number.isFinite)) drawLine(img, seg, color, thickness);
  }
  if (xs.length === 1) {
    const [x, y] = [scale.px(xs[0]), scale.py(ys[0])];
    drawLine(img, [x - 2, y, x + 2, y], color, 3);
  }
  if (style.markers) {
    for (let i = 0; i < xs.length; i++) {
      const [x, y] = [scale.px(xs[i]), scale.py(ys[i])];
      if (Number.isFinite(x) && Number.isFinite(y)) drawLine(img, [x - 3, y, x + 3, y], color, 7);
    }
  }
}

/**
 * A legend: one row per entry (a 28 px line sample, then the label, 12 px text), `rowHeight`
 * apart from `(x, y)` down; labels over 40 characters are cut. Beyond `max` entries a last
 * row says how many more there are. `boxed` puts it on a white box (about 8 px a character).
 */
export async function drawLegend(
  img: Image,
  entries: { label: string; color: number }[],
  [x, y]: [number, number],
  options: { max?: number; rowHeight?: number; boxed?: boolean } = {},
): Promise<void> {
  const max = options.max ?? 20, row = options.rowHeight ?? 24;
  const shown = entries.slice(0, max);
  if (options.boxed) {
    // A white box with a grey border, so a legend inside a plot area hides the grid under it.
    const w = 48 + Math.max(...shown.map((e) => 8 * Math.min(40, e.label.length)));
    const [l, t, r, b] = [x - 8, y - row / 2, x + w, y + (shown.length - 0.5) * row];
    img.drawBox(Math.round(l), Math.round(t), Math.round(r - l), Math.round(b - t), 0xffffffff);
    for (const seg of [[l, t, r, t], [l, b, r, b], [l, t, l, b], [r, t, r, b]]) {
      drawLine(img, seg as [number, number, number, number], 0xb0b0b0ff);
    }
  }
  for (let c = 0; c < shown.length; c++) {
    const at = y + c * row;
    drawLine(img, [x, at, x + 28, at], shown[c].color, 3);
    const label = shown[c].label.length > 40 ? `${shown[c].label.slice(0, 39)}…` : shown[c].label;
    await drawText(img, label, [x + 36, at], { size: 12 });
  }
  if (entries.length > max) {
    await drawText(img, `… and ${entries.length - max} more`, [x + 36, y + max * row], {
      size: 13,
    });
  }
}

/**
 * Labels for evenly spaced ticks: as many decimals as the ticks need (`0.25` → 2), or
 * scientific notation with as few digits (`5e-4`, `2.5e-4`) when every tick is below 0.01.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tickFormatter } from "./chart.ts";
 * assert.equal(tickFormatter([0, 0.25, 0.5])(0.5), "0.50");
 * assert.equal(tickFormatter([0, 2000, 4000])(4000), "4000");
 * assert.equal(tickFormatter([0, 0.0005, 0.001])(0.0005), "5e-4");
 * ```
 */
export function tickFormatter(ticks: readonly number[]): (v: number) => string {
  const largest = Math.max(0, ...ticks.map(Math.abs));
  if (largest > 0 && largest < 0.01) {
    let digits = 0;
    const exactE = (d: number) =>
      ticks.every((t) => Math.abs(Number(t.toExponential(d)) - t) <= 1e-9 * Math.abs(t));
    while (digits < 6 && !exactE(digits)) digits++;
    return (v) => (v === 0 ? "0" : v.toExponential(digits));
  }
  let decimals = 0;
  const exact = (d: number) => ticks.every((t) => Math.abs(Number(t.toFixed(d)) - t) < 1e-9);
  while (decimals < 8 && !exact(decimals)) decimals++;
  return (v) => v.toFixed(decimals);
}

/**
 * About `count` evenly spaced round tick values (steps 1, 2 or 5 × 10ⁿ) covering `[min, max]`:
 * the first at or below `min`, the last at or above `max`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { niceTicks } from "./chart.ts";
 * assert.deepEqual(niceTicks(0, 9.3), [0, 2, 4, 6, 8, 10]);
 * assert.deepEqual(niceTicks(1, 1), [0.5, 1, 1.5]);
 * ```
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max)) || min > max) {
    throw new RangeError(`Cannot make ticks: need finite min ≤ max, got [${min}, ${max}]`);
  }
  if (min === max) {
    const d = min === 0 ? 1 : Math.abs(min) / 2;
    return niceTicks(min - d, max + d, 2);
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.999)!;
  const first = Math.floor(min / step + 1e-9), last = Math.ceil(max / step - 1e-9);
  // Rounded to the step's decimals so 0.1 + 0.2 reads 0.3.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Array.from(
    { length: last - first + 1 },
    (_, i) => Number(((first + i) * step).toFixed(decimals)),
  );
}

/** Layout of the eval report's charts: a 0…1 × 0…1 plot with room on the right for a legend. */
export const UNIT_CHART = { width: 940, height: 620, left: 80, right: 300, top: 56, bottom: 70 };

/**
 * A white {@link UNIT_CHART} canvas with its frame drawn: both axes 0…1, ticks every tenth,
 * the axis labels and the title. Returns the canvas and the data → pixel scale.
 */
export async function drawUnitChart(
  labels: { x: string; y: string; title: string },
): Promise<{ img: Image; scale: ChartScale }> {
  const { width, height, left, right, top, bottom } = UNIT_CHART;
  const img = new Image(width, height).fill(0xffffffff);
  const ticks = Array.from({ length: 11 }, (_, i) => i / 10);
  const unit = (label: string) => ({
    min: 0,
    max: 1,
    ticks,
    format: (v: number) => v.toFixed(1),
    label,
  });
  const scale = await drawFrame(img, {
    left,
    top,
    width: width - left - right,
    height: height - top - bottom,
    x: unit(labels.x),
    y: unit(labels.y),
    title: labels.title,
  });
  return { img, scale };
}
