/**
 * The confusion matrix as a picture: rows the ground-truth classes and background, columns the
 * predicted ones; each cell shaded by its share of its row (so a class's recall reads along
 * its row whatever its size) and, where it fits, labelled with its count.
 *
 * @module
 */
import { Image } from "imagescript";
import { drawLine, drawText } from "./chart.ts";
import { renderText } from "../data/text.ts";
import type { ConfusionMatrix } from "./confusion.ts";

/** White to dark blue (matplotlib's `Blues` ends) for a share in [0, 1]. */
function shade(share: number): number {
  const lo = [247, 251, 255], hi = [8, 48, 107];
  const [r, g, b] = lo.map((v, i) => Math.round(v + (hi[i] - v) * share));
  return ((r << 24) | (g << 16) | (b << 8) | 0xff) >>> 0;
}

/**
 * Draws a confusion matrix and encodes it as PNG. The size grows with the number of labels
 * (cells of 10 to 56 px).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { drawConfusionMatrix } from "./confusion_plot.ts";
 * const png = await drawConfusionMatrix({
 *   labels: ["cat", "dog", "background"], iouThreshold: 0.5, confidence: 0.25,
 *   matrix: [[5, 1, 2], [0, 4, 1], [3, 0, 0]],
 * });
 * assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
 * ```
 */
export async function drawConfusionMatrix(m: ConfusionMatrix): Promise<Uint8Array> {
  const n = m.labels.length;
  const cell = Math.max(10, Math.min(56, Math.floor(620 / n)));
  const labelSize = Math.max(8, Math.min(13, Math.round(cell * 0.6)));
  const widths: number[] = [];
  for (const l of m.labels) widths.push((await renderText(l, labelSize, 0x000000ff)).width);
  const labelWidth = Math.max(...widths);
  const subtitle = `IoU > ${m.iouThreshold}, confidence ≥ ${m.confidence.toFixed(3)}; ` +
    "shade: share of the row, numbers: counts";
  const subtitleWidth = (await renderText(subtitle, 12, 0x000000ff)).width;
  const grid = cell * n, top = 78;
  // The row labels and the axis title left of the grid; the grid centred when the titles are
  // wider than it.
  const margin = 40 + labelWidth + 12;
  const width = Math.max(margin + grid + 40, subtitleWidth + 40);
  const left = Math.max(margin, Math.round((width - grid) / 2));
  const height = top + grid + labelWidth + 60;
  const img = new Image(width, height).fill(0xffffffff);
  await drawText(img, "Confusion matrix", [width / 2, 22], { size: 18, align: "center" });
  await drawText(img, subtitle, [width / 2, 48], { size: 12, align: "center" });
  const countSize = Math.max(8, Math.min(14, Math.round(cell * 0.36)));
  for (let r = 0; r < n; r++) {
    const total = m.matrix[r].reduce((s, v) => s + v, 0);
    for (let c = 0; c < n; c++) {
      const count = m.matrix[r][c];
      const share = total > 0 ? count / total : 0;
      const x = left + c * cell, y = top + r * cell;
      img.drawBox(x + 1, y + 1, cell - 1, cell - 1, count > 0 ? shade(share) : 0xffffffff);
      if (count > 0 && cell >= 22) {
        const text = await renderText(
          String(count),
          countSize,
          share > 0.5 ? 0xffffffff : 0x000000ff,
        );
        if (text.width < cell - 2) {
          img.composite(
            text,
            Math.round(x + (cell - text.width) / 2),
            Math.round(y + (cell - text.height) / 2),
          );
        }
      }
    }
  }
  // Cell borders, the background row and column set apart by a darker line.
  for (let k = 0; k <= n; k++) {
    const colour = k === n - 1 ? 0x606060ff : 0xd0d0d0ff;
    drawLine(img, [left, top + k * cell, left + grid, top + k * cell], colour);
    drawLine(img, [left + k * cell, top, left + k * cell, top + grid], colour);
  }
  for (let k = 0; k < n; k++) {
    await drawText(img, m.labels[k], [left - 6, top + k * cell + cell / 2], {
      size: labelSize,
      align: "right",
    });
    // Column labels read upwards, their ends just under the matrix (the anchor is the middle).
    await drawText(img, m.labels[k], [left + k * cell + cell / 2, top + grid + 6 + widths[k] / 2], {
      size: labelSize,
      rotate: true,
      align: "center",
    });
  }
  await drawText(img, "Ground truth", [14, top + grid / 2], { size: 15, rotate: true });
  await drawText(img, "Predicted", [left + grid / 2, height - 20], { size: 15, align: "center" });
  return await img.encode();
}
