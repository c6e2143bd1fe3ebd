/**
 * Training curves as one PNG a person can read at a glance, side by side: the loss and its two
 * parts against the step, validation mAP against the epoch (when any row has one), and the
 * learning rate against the step. Drawn with the chart code of the PR curves (`eval/chart.ts`).
 *
 * @module
 */
import { Image } from "imagescript";
import {
  CHART_PALETTE,
  type ChartAxis,
  drawFrame,
  drawLegend,
  drawPolyline,
  niceTicks,
  tickFormatter,
} from "../eval/chart.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { MetricRow } from "./checkpoint.ts";

/**
 * One logged point of a training run: an epoch's row of `metrics.csv` (its losses and learning
 * rate) with the validation mAP to plot, on the rows where validation ran.
 */
export type CurveRow = Pick<MetricRow, "epoch" | "step" | "loss" | "locLoss" | "clsLoss" | "lr"> & {
  mAP?: number;
};

const PANEL_W = 600, PANEL_H = 460;
const LEFT = 90, RIGHT = 30, TOP = 56, BOTTOM = 70;
/** Above this many points a series is drawn pale, with its moving average on top. */
const SMOOTH_FROM = 50;

/** Centred moving average over `window` points (fewer at the ends); non-finite values skipped. */
function smooth(values: readonly number[], window: number): number[] {
  const half = Math.floor(window / 2);
  return values.map((_, i) => {
    let sum = 0, n = 0;
    for (let j = Math.max(0, i - half); j <= Math.min(values.length - 1, i + half); j++) {
      if (Number.isFinite(values[j])) {
        sum += values[j];
        n++;
      }
    }
    return n > 0 ? sum / n : NaN;
  });
}

/** A colour mixed with white (`amount` of white), for the raw series under a smoothed one. */
function pale(color: number, amount = 0.65): number {
  const mix = (c: number) => Math.round(c + (255 - c) * amount);
  return ((mix(color >>> 24) << 24) | (mix((color >>> 16) & 0xff) << 16) |
    (mix((color >>> 8) & 0xff) << 8) | 0xff) >>> 0;
}

/**
 * An axis over `values` (and `from`, when given) with round ticks at both ends; `integer`
 * keeps only whole ticks (epochs), `headroom` adds 5 % above the largest value.
 */
function axisOver(
  values: number[],
  label: string,
  opts: { from?: number; integer?: boolean; headroom?: boolean },
) {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) finite.push(0, 1); // nothing to show: a unit axis, empty
  const lo = Math.min(opts.from ?? Infinity, ...finite), top = Math.max(...finite);
  // 5 % headroom on a value axis, so the largest value is not drawn on the frame.
  const hi = opts.headroom ? top + 0.05 * (top > lo ? top - lo : Math.abs(top)) : top;
  let ticks = niceTicks(lo, hi);
  const [min, max] = [ticks[0], ticks[ticks.length - 1]];
  if (opts.integer) ticks = ticks.filter(Number.isInteger);
  return { min, max, ticks, format: tickFormatter(ticks), label } satisfies ChartAxis;
}

/** One panel's series: points, colour, legend label. */
interface PanelSeries {
  label: string;
  xs: number[];
  ys: number[];
  markers?: boolean;
  /** Exact values (a schedule) are never smoothed. */
  exact?: boolean;
}

async function drawPanel(
  img: Image,
  left: number,
  panel: { title: string; x: ChartAxis; y: ChartAxis; series: PanelSeries[]; legend: boolean },
): Promise<void> {
  const frame = {
    left: left + LEFT,
    top: TOP,
    width: PANEL_W - LEFT - RIGHT,
    height: PANEL_H - TOP - BOTTOM,
    x: panel.x,
    y: panel.y,
    title: panel.title,
  };
  const scale = await drawFrame(img, frame);
  // Values past the top of the axis (a first steps' spike) are drawn on its edge.
  const clamp = (v: number) => Math.min(panel.y.max, Math.max(panel.y.min, v));
  panel.series.forEach((s, i) => {
    const color = CHART_PALETTE[i % CHART_PALETTE.length];
    const ys = s.ys.map(clamp);
    if (s.xs.length > SMOOTH_FROM && !s.exact) {
      drawPolyline(img, scale, { xs: s.xs, ys }, { color: pale(color), thickness: 1 });
      const window = Math.max(5, Math.round(s.xs.length / 25)) | 1;
      drawPolyline(img, scale, { xs: s.xs, ys: smooth(s.ys, window).map(clamp) }, { color });
    } else {
      const markers = s.markers || s.xs.length === 1; // a lone point is a square, not a dash
      drawPolyline(img, scale, { xs: s.xs, ys }, { color, markers });
    }
  });
  if (panel.legend) {
    const entries = panel.series.map((s, i) => ({
      label: s.label,
      color: CHART_PALETTE[i % CHART_PALETTE.length],
    }));
    await drawLegend(img, entries, [frame.left + frame.width - 150, frame.top + 20], {
      rowHeight: 22,
      boxed: true,
    });
  }
}

/**
 * Draws the training curves into one PNG: loss (total, localization, confidence) against the
 * step; validation mAP against the epoch, when a row has `mAP`; the learning rate against the
 * step. Series of more than 50 points are drawn pale with a centred moving average on top; the
 * loss axis leaves out the first 5 % of the steps when choosing its top (their spike is drawn
 * on the edge).
 *
 * @param rows the logged points, in step order
 * @param path the PNG file to write (atomically)
 * @throws RangeError when there are no rows
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { drawCurves } from "./curves.ts";
 * const path = `${await Deno.makeTempDir()}/curves.png`;
 * await drawCurves([
 *   { epoch: 1, step: 10, loss: 9, locLoss: 3, clsLoss: 6, lr: 1e-3 },
 *   { epoch: 1, step: 20, loss: 6, locLoss: 2, clsLoss: 4, lr: 1e-3, mAP: 0.1 },
 * ], path);
 * assert.ok((await Deno.stat(path)).size > 0);
 * ```
 */
export async function drawCurves(rows: readonly CurveRow[], path: string): Promise<void> {
  if (rows.length === 0) throw new RangeError("Cannot draw training curves: no rows");
  const steps = rows.map((r) => r.step);
  const lossSeries: PanelSeries[] = [
    { label: "loss", xs: steps, ys: rows.map((r) => r.loss) },
    { label: "loc loss", xs: steps, ys: rows.map((r) => r.locLoss) },
    { label: "cls loss", xs: steps, ys: rows.map((r) => r.clsLoss) },
  ];
  const skip = rows.length >= 20 ? Math.ceil(rows.length * 0.05) : 0;
  const lossTop = lossSeries.flatMap((s) => s.ys.slice(skip));
  const stepAxis = axisOver(steps, "step", {});
  const panels = [{
    title: "Training loss",
    x: stepAxis,
    y: axisOver(lossTop, "loss", { from: 0, headroom: true }),
    series: lossSeries,
    legend: true,
  }];
  const validated = rows.filter((r) => r.mAP !== undefined && Number.isFinite(r.mAP));
  if (validated.length > 0) {
    const maps = validated.map((r) => r.mAP!), epochs = validated.map((r) => r.epoch);
    const best = maps.indexOf(Math.max(...maps));
    panels.push({
      title: `Validation mAP (best ${maps[best].toFixed(3)}, epoch ${epochs[best]})`,
      x: axisOver(epochs, "epoch", { integer: true }),
      y: axisOver([...maps, 0.01], "mAP", { from: 0, headroom: true }),
      series: [{ label: "mAP", xs: epochs, ys: maps, markers: true }],
      legend: false,
    });
  }
  panels.push({
    title: "Learning rate",
    x: stepAxis,
    y: axisOver(rows.map((r) => r.lr), "learning rate", { from: 0, headroom: true }),
    series: [{ label: "lr", xs: steps, ys: rows.map((r) => r.lr), exact: true }],
    legend: false,
  });
  const img = new Image(PANEL_W * panels.length, PANEL_H).fill(0xffffffff);
  for (const [i, panel] of panels.entries()) await drawPanel(img, i * PANEL_W, panel);
  await writeFileAtomic(path, await img.encode());
}
