/**
 * Writes the precision/recall charts of an {@linkcode EvalReport} as PNG files: per class and
 * overall, for COCO (IoU .50, .75 and the mean over .50:.95, area all, 100 detections) and for
 * VOC (the ranked precision/recall of each class).
 *
 * @module
 */
import { drawPrCurves, type PrCurve } from "./plots.ts";
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

/**
 * Writes `coco_overall.png`, `coco_<class>.png`, `voc_overall.png`, `voc_<class>.png` (those
 * whose metrics the report has) into `dir`, creating it.
 *
 * @returns the paths written
 */
export async function writeEvalPlots(dir: string, report: EvalReport): Promise<string[]> {
  await makeOutputDir(dir);
  const written: string[] = [];
  const emit = async (file: string, curves: PrCurve[], title: string) => {
    const path = `${dir}/${file}`;
    await writeFileAtomic(path, await drawPrCurves(curves, { title }));
    written.push(path);
  };
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
    await emit(
      "coco_overall.png",
      curves(defined, [coco.stats[1], coco.stats[2], coco.stats[0]]),
      "COCO precision/recall, all classes (area all, 100 dets)",
    );
    for (const k of defined) {
      const c = coco.categories[k], name = report.classes[k]?.name ?? c.name;
      await emit(
        `coco_${safeName(name)}.png`,
        curves([k], [c.ap50, c.ap75, c.ap]),
        `COCO precision/recall: ${name}`,
      );
    }
  }
  const voc = report.voc ?? report.voc07;
  if (voc !== undefined) {
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
    await emit(
      "voc_overall.png",
      classes.map(curve),
      `VOC precision/recall per class (${mapText})`,
    );
    for (const n of classes) {
      await emit(
        `voc_${safeName(n)}.png`,
        [{ ...curve(n), label: label(n) }],
        `VOC precision/recall: ${n}`,
      );
    }
  }
  return written;
}
