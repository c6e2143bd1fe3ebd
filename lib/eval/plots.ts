/**
 * Precision/recall curves as PNG charts a person can read: axes with ticks and grid, axis
 * labels, a title and a legend. Drawn with `imagescript` through `chart.ts`, text in DejaVu
 * Sans.
 *
 * @module
 */
import { CHART_PALETTE, drawLegend, drawPolyline, drawUnitChart, UNIT_CHART } from "./chart.ts";

/** One curve: points `(recall[i], precision[i])`, both in `[0, 1]`, joined in order. */
export interface PrCurve {
  label: string;
  recall: ArrayLike<number>;
  precision: ArrayLike<number>;
}

const { width: WIDTH, right: RIGHT, top: TOP } = UNIT_CHART;
const MAX_LEGEND = 20;
/** 0, 0.1, …, 1 on both axes. */

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
  const { img, scale } = await drawUnitChart({ x: "Recall", y: "Precision", title: options.title });
  curves.forEach((curve, c) => {
    drawPolyline(img, scale, { xs: curve.recall, ys: curve.precision }, {
      color: CHART_PALETTE[c % CHART_PALETTE.length],
    });
  });
  await drawLegend(
    img,
    curves.map((c, i) => ({ label: c.label, color: CHART_PALETTE[i % CHART_PALETTE.length] })),
    [WIDTH - RIGHT + 20, TOP + 10],
    { max: MAX_LEGEND },
  );
  return await img.encode();
}
