/**
 * Summary charts of an evaluation, one curve per class and their mean: precision against
 * recall, and precision, recall and F1 against the confidence threshold. Each class is a thin
 * line, the mean over the classes a bold one (as Ultralytics draws them). Drawn with
 * `chart.ts` on imagescript.
 *
 * @module
 */
import {
  CHART_PALETTE,
  drawLegend,
  drawLine,
  drawPolyline,
  drawText,
  drawUnitChart,
  UNIT_CHART,
} from "./chart.ts";

/** Curves sharing one x axis. */
export interface SummaryChart {
  title: string;
  xLabel: string;
  yLabel: string;
  /** `[N]` x of every curve's points. */
  xs: ArrayLike<number>;
  /** Per class: its name (with a number, e.g. its AP) and `[N]` y values (NaN: no point). */
  curves: { label: string; ys: ArrayLike<number> }[];
  /** The mean over the classes, drawn bold on top. */
  mean: { label: string; ys: ArrayLike<number> };
  /** A point to mark on the mean curve (the best F1), in data units. */
  marker?: [number, number];
}

const { width: WIDTH, right: RIGHT, top: TOP } = UNIT_CHART;
/** Classes beyond this get no legend row of their own and are drawn grey. */
const MAX_NAMED = 14;
const MEAN_COLOUR = 0x0b3d91ff, GREY = 0xbdbdbdff;

/**
 * Draws a summary chart (both axes 0…1) and encodes it as PNG.
 *
 * @returns PNG bytes of a 940×620 chart
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { drawSummaryChart } from "./summary_plots.ts";
 * const png = await drawSummaryChart({
 *   title: "F1", xLabel: "Confidence", yLabel: "F1", xs: [0, 0.5, 1],
 *   curves: [{ label: "dog", ys: [0.5, 0.8, 0] }], mean: { label: "all", ys: [0.5, 0.8, 0] },
 *   marker: [0.5, 0.8],
 * });
 * assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
 * ```
 */
export async function drawSummaryChart(chart: SummaryChart): Promise<Uint8Array> {
  const { img, scale } = await drawUnitChart({
    x: chart.xLabel,
    y: chart.yLabel,
    title: chart.title,
  });
  const named = chart.curves.length <= MAX_NAMED;
  const colour = (c: number) => named ? CHART_PALETTE[c % CHART_PALETTE.length] : GREY;
  chart.curves.forEach((curve, c) => {
    drawPolyline(img, scale, { xs: chart.xs, ys: curve.ys }, { color: colour(c), thickness: 1 });
  });
  drawPolyline(img, scale, { xs: chart.xs, ys: chart.mean.ys }, {
    color: MEAN_COLOUR,
    thickness: 4,
  });
  if (chart.marker !== undefined) {
    const [x, y] = [scale.px(chart.marker[0]), scale.py(chart.marker[1])];
    drawLine(img, [x - 5, y, x + 5, y], 0xd62728ff, 11);
    drawLine(img, [x - 3, y, x + 3, y], 0xffffffff, 7);
  }
  const legendX = WIDTH - RIGHT + 20;
  // The mean first and bold; then the classes, or how many there are.
  drawLine(img, [legendX, TOP + 10, legendX + 28, TOP + 10], MEAN_COLOUR, 4);
  await drawText(img, chart.mean.label, [legendX + 36, TOP + 10], { size: 12 });
  if (named) {
    await drawLegend(
      img,
      chart.curves.map((c, i) => ({ label: c.label, color: colour(i) })),
      [legendX, TOP + 40],
      { max: MAX_NAMED },
    );
  } else {
    await drawLegend(img, [{ label: `${chart.curves.length} classes`, color: GREY }], [
      legendX,
      TOP + 40,
    ]);
  }
  return await img.encode();
}

/**
 * A class's precision as the AP reads it, on a recall grid: at each recall `r`, the highest
 * precision reached at a recall `≥ r` (0 beyond the last); NaN precision counts as 0.
 *
 * @param recall `[N]` non-decreasing cumulative recall, ranked
 * @param precision `[N]` cumulative precision, ranked
 * @param grid recall values, ascending
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interpolatedPrecision } from "./summary_plots.ts";
 * // TP, FP, TP with 2 positives: recall .5, .5, 1; precision 1, .5, 2/3.
 * assert.deepEqual([...interpolatedPrecision([0.5, 0.5, 1], [1, 0.5, 2 / 3], [0, 0.5, 0.75, 1])],
 *   [1, 1, 2 / 3, 2 / 3]);
 * ```
 */
export function interpolatedPrecision(
  recall: ArrayLike<number>,
  precision: ArrayLike<number>,
  grid: readonly number[],
): Float64Array {
  const out = new Float64Array(grid.length);
  let i = recall.length - 1, best = 0;
  for (let g = grid.length - 1; g >= 0; g--) {
    while (i >= 0 && recall[i] >= grid[g]) {
      if (precision[i] > best) best = precision[i];
      i--;
    }
    out[g] = best;
  }
  return out;
}
