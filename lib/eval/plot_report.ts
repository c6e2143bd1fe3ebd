/**
 * Writes the charts of an {@linkcode EvalReport} as PNG files. By default a few summary
 * figures: every class's precision/recall curve with their mean (`pr_curve.png`), precision,
 * recall and F1 against confidence (`p_curve.png`, `r_curve.png`, `f1_curve.png`), the confusion
 * matrix (`confusion_matrix.png`) and, for COCO, the mean curves at IoU .50, .75 and .50:.95
 * (`coco_overall.png`). With `perClass`, also one chart per class and metric.
 *
 * @module
 */
import { drawPrCurves, type PrCurve } from "./plots.ts";
import { drawSummaryChart, interpolatedPrecision } from "./summary_plots.ts";
import { drawConfusionMatrix } from "./confusion_plot.ts";
import {
  COCO_AREA_RANGES,
  COCO_IOU_THRESHOLDS,
  COCO_MAX_DETS,
  COCO_RECALL_THRESHOLDS,
} from "./coco.ts";
import type { EvalReport } from "./evaluate.ts";
import { formatFixed3 } from "./report.ts";
import { makeOutputDir, writeFileAtomic } from "../io/atomic.ts";

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, "_");
}

/** Options of {@link writeEvalPlots}. */
export interface EvalPlotOptions {
  /** Also one chart per class (`coco_<class>.png`, `voc_<class>.png`) and `voc_overall.png`. */
  perClass?: boolean;
  /** Called after each file with the count written and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** 0, 0.01, …, 1: the recall grid of the mean precision/recall curve (COCO's 101 points). */
const RECALL_GRID = COCO_RECALL_THRESHOLDS;

/**
 * Writes the report's charts into `dir`, creating it: the summary figures (those the report
 * has data for), and with `perClass` one chart per class.
 *
 * @returns the paths written
 */
export async function writeEvalPlots(
  dir: string,
  report: EvalReport,
  options: EvalPlotOptions = {},
): Promise<string[]> {
  await makeOutputDir(dir);
  const jobs: [string, () => Promise<Uint8Array>][] = [];
  const prCurve = summaryPrChart(report);
  if (prCurve !== undefined) jobs.push(["pr_curve.png", prCurve]);
  const analysis = report.analysis;
  if (analysis !== undefined) {
    const { curves } = analysis;
    const best = curves.best;
    const at = (v: number) => formatFixed3(v);
    for (
      const [file, key, name] of [
        ["p_curve.png", "precision", "Precision"],
        ["r_curve.png", "recall", "Recall"],
        ["f1_curve.png", "f1", "F1"],
      ] as const
    ) {
      jobs.push([file, () =>
        drawSummaryChart({
          title: `${name} against confidence (IoU > 0.5)`,
          xLabel: "Confidence",
          yLabel: name,
          xs: curves.thresholds,
          curves: curves.classes.map((n) => ({
            label: `${n}  ${at(curves.perClass[n][key][best.index])}`,
            ys: curves.perClass[n][key],
          })),
          mean: {
            label: `all classes ${at(curves.mean[key][best.index])} at ${
              best.confidence.toFixed(3)
            }`,
            ys: curves.mean[key],
          },
          marker: [best.confidence, curves.mean[key][best.index]],
        })]);
    }
    jobs.push(["confusion_matrix.png", () => drawConfusionMatrix(analysis.confusion)]);
  }
  jobs.push(...legacyPlots(report, options.perClass ?? false));
  const written: string[] = [];
  for (const [file, draw] of jobs) {
    const path = `${dir}/${file}`;
    await writeFileAtomic(path, await draw());
    written.push(path);
    options.onProgress?.(written.length, jobs.length);
  }
  return written;
}

/**
 * Every class's precision/recall curve (precision as the AP reads it: the best at that recall
 * or more) and their mean, from the VOC all-point evaluation, else COCO's at IoU .50.
 */
function summaryPrChart(report: EvalReport): (() => Promise<Uint8Array>) | undefined {
  const voc = report.voc ?? report.voc07;
  const classes: { name: string; ap: number; ys: Float64Array }[] = [];
  let mapText: string;
  if (voc !== undefined) {
    for (const n of voc.mapClasses) {
      const c = voc.perClass[n];
      classes.push({
        name: n,
        ap: c.ap,
        ys: interpolatedPrecision(c.recall, c.precision, RECALL_GRID),
      });
    }
    mapText = report.voc
      ? `mAP@0.5 ${formatFixed3(voc.mAP)}`
      : `VOC07 mAP ${formatFixed3(voc.mAP)}`;
  } else if (report.coco !== undefined) {
    const coco = report.coco;
    const K = coco.categories.length;
    const A = COCO_AREA_RANGES.length, M = COCO_MAX_DETS.length;
    coco.categories.forEach((c, k) => {
      if (!(c.ap50 > -1)) return;
      const ys = Float64Array.from(
        COCO_RECALL_THRESHOLDS,
        (_, r) => Math.max(0, coco.precision[((r * K + k) * A) * M + M - 1]), // t = 0: IoU .50
      );
      classes.push({ name: report.classes[k]?.name ?? c.name, ap: c.ap50, ys });
    });
    mapText = `AP50 ${formatFixed3(coco.stats[1])}`;
  } else return undefined;
  if (classes.length === 0) return undefined;
  const mean = new Float64Array(RECALL_GRID.length);
  for (const c of classes) c.ys.forEach((v, i) => mean[i] += v / classes.length);
  return () =>
    drawSummaryChart({
      title: `Precision/recall, ${classes.length} ${classes.length === 1 ? "class" : "classes"}`,
      xLabel: "Recall",
      yLabel: "Precision",
      xs: RECALL_GRID,
      curves: classes.map((c) => ({ label: `${c.name}  ${formatFixed3(c.ap)}`, ys: c.ys })),
      mean: { label: `all classes ${mapText}`, ys: mean },
    });
}

/**
 * The earlier charts: `coco_overall.png` (always, for COCO) and, per class, `coco_<class>.png`,
 * `voc_overall.png` and `voc_<class>.png`.
 */
function legacyPlots(report: EvalReport, perClass: boolean): [string, () => Promise<Uint8Array>][] {
  const jobs: [string, () => Promise<Uint8Array>][] = [];
  const emit = (file: string, curves: PrCurve[], title: string) =>
    jobs.push([file, () => drawPrCurves(curves, { title })]);
  const coco = report.coco;
  if (coco !== undefined) {
    const T = COCO_IOU_THRESHOLDS.length, R = COCO_RECALL_THRESHOLDS.length;
    const K = coco.categories.length, A = COCO_AREA_RANGES.length, M = COCO_MAX_DETS.length;
    const at = (t: number, r: number, k: number) =>
      coco.precision[(((t * R + r) * K + k) * A) * M + M - 1];
    const meanOver = (ts: number[], ks: number[]) =>
      COCO_RECALL_THRESHOLDS.map((_, r) => {
        const v = ts.flatMap((t) => ks.map((k) => at(t, r, k))).filter((p) => p > -1);
        return v.length === 0 ? NaN : v.reduce((s, p) => s + p, 0) / v.length;
      });
    const curves = (ks: number[], aps: [number, number, number]): PrCurve[] => [
      {
        label: `IoU=0.50  AP=${formatFixed3(aps[0])}`,
        recall: COCO_RECALL_THRESHOLDS,
        precision: meanOver([0], ks),
      },
      {
        label: `IoU=0.75  AP=${formatFixed3(aps[1])}`,
        recall: COCO_RECALL_THRESHOLDS,
        precision: meanOver([5], ks),
      },
      {
        label: `IoU=.50:.95  AP=${formatFixed3(aps[2])}`,
        recall: COCO_RECALL_THRESHOLDS,
        precision: meanOver([...Array(T).keys()], ks),
      },
    ];
    const defined = [...Array(K).keys()].filter((k) => coco.categories[k].ap > -1);
    emit(
      "coco_overall.png",
      curves(defined, [coco.stats[1], coco.stats[2], coco.stats[0]]),
      "COCO precision/recall, all classes (area all, 100 dets)",
    );
    for (const k of perClass ? defined : []) {
      const c = coco.categories[k], name = report.classes[k]?.name ?? c.name;
      emit(
        `coco_${safeName(name)}.png`,
        curves([k], [c.ap50, c.ap75, c.ap]),
        `COCO precision/recall: ${name}`,
      );
    }
  }
  const voc = report.voc ?? report.voc07;
  if (voc !== undefined && perClass) {
    const label = (n: string) =>
      [
        report.voc07 && `07: ${formatFixed3(report.voc07.perClass[n].ap)}`,
        report.voc && `all: ${formatFixed3(report.voc.perClass[n].ap)}`,
      ]
        .filter(Boolean).join("  ");
    const classes = voc.mapClasses.filter((n) => voc.perClass[n].numDet > 0);
    const curve = (n: string): PrCurve => ({
      label: `${n}  ${label(n)}`,
      recall: voc.perClass[n].recall,
      precision: voc.perClass[n].precision,
    });
    const mapText = [
      report.voc07 && `VOC07 mAP ${formatFixed3(report.voc07.mAP)}`,
      report.voc && `VOC mAP ${formatFixed3(report.voc.mAP)}`,
    ]
      .filter(Boolean).join(", ");
    emit(
      "voc_overall.png",
      classes.map(curve),
      `VOC precision/recall per class (${mapText})`,
    );
    for (const n of classes) {
      emit(
        `voc_${safeName(n)}.png`,
        [{ ...curve(n), label: label(n) }],
        `VOC precision/recall: ${n}`,
      );
    }
  }
  return jobs;
}
