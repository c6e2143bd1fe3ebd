/**
 * How `ssd eval` shows an {@linkcode EvalReport}: a table (one row per class, then the summary
 * lines in pycocotools' layout) and the `--json` object of the CLI contract.
 *
 * @module
 */
import { COCO_STAT_NAMES } from "./coco.ts";
import type { EvalReport } from "./evaluate.ts";

/**
 * Python's `'{:0.3f}'.format(x)`: like `toFixed(3)` but exact ties go to the even digit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatFixed3 } from "./report.ts";
 * assert.equal(formatFixed3(0.0625), "0.062");
 * assert.equal(formatFixed3(0.5045806987249628), "0.505");
 * assert.equal(formatFixed3(-1), "-1.000");
 * ```
 */
export function formatFixed3(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  const exact = Math.abs(x).toFixed(30);
  const tie = /^\d+\.\d{3}50*$/.test(exact);
  let s = x.toFixed(3);
  if (tie) {
    const digits = exact.slice(0, exact.indexOf(".") + 4);
    const last = Number(digits[digits.length - 1]);
    // toFixed rounded away from zero; keep the truncated value when its last digit is even.
    if (last % 2 === 0) s = (x < 0 ? "-" : "") + digits;
  }
  return s;
}

/** The 12 summary lines exactly as pycocotools' `summarize()` prints them. */
export function formatCocoSummary(stats: number[]): string[] {
  const specs: [boolean, string, string, number][] = [
    [true, "0.50:0.95", "all", 100],
    [true, "0.50", "all", 100],
    [true, "0.75", "all", 100],
    [true, "0.50:0.95", "small", 100],
    [true, "0.50:0.95", "medium", 100],
    [true, "0.50:0.95", "large", 100],
    [false, "0.50:0.95", "all", 1],
    [false, "0.50:0.95", "all", 10],
    [false, "0.50:0.95", "all", 100],
    [false, "0.50:0.95", "small", 100],
    [false, "0.50:0.95", "medium", 100],
    [false, "0.50:0.95", "large", 100],
  ];
  return specs.map(([isAp, iou, area, maxDets], i) =>
    ` ${(isAp ? "Average Precision" : "Average Recall").padEnd(18)} ${isAp ? "(AP)" : "(AR)"} ` +
    `@[ IoU=${iou.padEnd(9)} | area=${area.padStart(6)} | maxDets=${
      String(maxDets).padStart(3)
    } ] = ` +
    formatFixed3(stats[i])
  );
}

function cell(x: number | undefined, width: number): string {
  const text = x === undefined || Number.isNaN(x) || x < 0 ? "-" : x.toFixed(3);
  return text.padStart(width);
}

/**
 * The readable table: one row per class with ground truth (images, instances, AP per metric,
 * and with the analysis precision and recall at the best-F1 confidence), an `all` row, a note
 * counting the classes left out, then the COCO summary lines and the VOC mAP lines.
 */
export function formatEvalTable(report: EvalReport): string {
  const shown = report.classes.filter((c) => c.instances > 0);
  const nameWidth = Math.max(5, ...shown.map((c) => c.name.length)) + 2;
  const cols: [string, (name: string) => number | undefined, number | undefined][] = [];
  const best = report.analysis?.curves.best;
  if (report.analysis !== undefined) {
    const { curves } = report.analysis;
    const at = (n: string, key: "precision" | "recall") => curves.perClass[n]?.[key][best!.index];
    cols.push(["P", (n) => at(n, "precision"), best!.precision]);
    cols.push(["R", (n) => at(n, "recall"), best!.recall]);
  }
  const coco = report.coco;
  if (coco !== undefined) {
    const byName = new Map(report.classes.map((c, k) => [c.name, coco.categories[k]]));
    cols.push(["AP50-95", (n) => byName.get(n)?.ap, coco.stats[0]]);
    cols.push(["AP50", (n) => byName.get(n)?.ap50, coco.stats[1]]);
    cols.push(["AP75", (n) => byName.get(n)?.ap75, coco.stats[2]]);
  }
  if (report.voc07 !== undefined) {
    const v = report.voc07;
    cols.push(["VOC07", (n) => v.perClass[n]?.ap, v.mAP]);
  }
  if (report.voc !== undefined) {
    const v = report.voc;
    cols.push(["VOC", (n) => v.perClass[n]?.ap, v.mAP]);
  }
  const header = "class".padEnd(nameWidth) + "images".padStart(8) + "instances".padStart(11) +
    cols.map(([h]) => h.padStart(9)).join("");
  const lines = [header];
  const totalInstances = report.classes.reduce((s, c) => s + c.instances, 0);
  lines.push(
    "all".padEnd(nameWidth) + String(report.numImages).padStart(8) +
      String(totalInstances).padStart(11) + cols.map(([, , all]) => cell(all, 9)).join(""),
  );
  for (const c of shown) {
    lines.push(
      c.name.padEnd(nameWidth) + String(c.images).padStart(8) + String(c.instances).padStart(11) +
        cols.map(([, get]) => cell(get(c.name), 9)).join(""),
    );
  }
  const hidden = report.classes.length - shown.length;
  if (hidden > 0) {
    lines.push(
      `(${hidden} ${hidden === 1 ? "class" : "classes"} without ground truth not shown: ` +
        "AP undefined, left out of the means)",
    );
  }
  if (best !== undefined) {
    lines.push(
      `P and R at confidence ${best.confidence.toFixed(3)}, where the mean F1 is best ` +
        `(${best.f1.toFixed(3)}); IoU > 0.5`,
    );
  }
  if (coco !== undefined) lines.push("", ...formatCocoSummary(coco.stats));
  if (report.voc07 !== undefined || report.voc !== undefined) lines.push("");
  if (report.voc07 !== undefined) {
    lines.push(
      ` Mean Average Precision (VOC07 11-point, IoU>0.50) = ${formatFixed3(report.voc07.mAP)}`,
    );
  }
  if (report.voc !== undefined) {
    lines.push(
      ` Mean Average Precision (VOC all-point,  IoU>0.50) = ${formatFixed3(report.voc.mAP)}`,
    );
  }
  return lines.join("\n");
}

/** A number for JSON: NaN (undefined AP) becomes `null`. */
function num(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

/**
 * The `--json` object: `{"coco":{"AP",…,"ARl","perClass":{name:AP}},"voc07":{"mAP",
 * "perClass"},"voc":{…}}` with only the metrics evaluated. COCO keeps pycocotools' -1 for
 * undefined values; VOC gives `null`. With the analysis also `"bestF1":{"confidence","f1",
 * "precision","recall","perClass":{name:{precision,recall,f1}}}` and `"confusion":{"iou",
 * "confidence","rows","columns","labels","matrix"}` (rows ground truth, columns predicted, the
 * last label `background`).
 */
export function evalReportJson(report: EvalReport): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (report.coco !== undefined) {
    const coco: Record<string, unknown> = {};
    COCO_STAT_NAMES.forEach((name, i) => coco[name] = report.coco!.stats[i]);
    coco.perClass = Object.fromEntries(
      report.coco.categories.map((c, k) => [report.classes[k]?.name ?? c.name, c.ap]),
    );
    out.coco = coco;
  }
  for (const key of ["voc07", "voc"] as const) {
    const v = report[key];
    if (v === undefined) continue;
    out[key] = {
      mAP: num(v.mAP),
      perClass: Object.fromEntries(Object.entries(v.perClass).map(([n, c]) => [n, num(c.ap)])),
    };
  }
  if (report.analysis !== undefined) {
    const { curves, confusion } = report.analysis;
    const { best } = curves;
    out.bestF1 = {
      confidence: best.confidence,
      f1: best.f1,
      precision: best.precision,
      recall: best.recall,
      perClass: Object.fromEntries(
        curves.classes.map((n) => {
          const c = curves.perClass[n];
          return [n, {
            precision: c.precision[best.index],
            recall: c.recall[best.index],
            f1: c.f1[best.index],
          }];
        }),
      ),
    };
    out.confusion = {
      iou: confusion.iouThreshold,
      confidence: confusion.confidence,
      rows: "ground truth",
      columns: "predicted",
      labels: confusion.labels,
      matrix: confusion.matrix,
    };
  }
  return out;
}
