import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";

const METRICS = ["coco", "voc07", "voc", "all"] as const;

/**
 * `ssd eval --gt GT --results R [--metric coco|voc07|voc|all] [--set S] [--json] [--plots DIR]`:
 * PASCAL VOC (py-faster-rcnn `voc_eval`) and COCO (pycocotools) mAP of a results file or folder.
 * A table on stdout (or `--json`), PR-curve PNGs with `--plots`.
 */
export function evalCommand() {
  return new Command("eval")
    .description(
      "mAP of detections: COCO (pycocotools) and PASCAL VOC (voc_eval, 11-point and all-point)",
    )
    .option(
      "--gt <path>",
      "ground truth: a COCO instances JSON or a VOC root (Annotations/, ImageSets/Main/)",
    )
    .option(
      "--results <path>",
      "detections: a COCO results JSON, or a folder of per-class VOC files (<class>.txt or comp4_det_<set>_<class>.txt)",
    )
    .addOption(
      new Option(
        "--metric <name>",
        "coco | voc07 | voc | all (default: coco for COCO, voc07 and voc for VOC)",
      )
        .argParser((value) => {
          if (!(METRICS as readonly string[]).includes(value)) {
            throw new InvalidArgumentError(`expected one of ${METRICS.join(", ")}`);
          }
          return value as (typeof METRICS)[number];
        }),
    )
    .option(
      "--set <name>",
      "VOC image set (ImageSets/Main/<set>.txt; default test, or the only list)",
    )
    .option("--json", "print the results as JSON")
    .option("--plots <dir>", "write precision/recall curves as PNG files into this folder")
    .option("--model <model>", "detect with this model first (with --data)")
    .option("--data <dataset>", "dataset to detect on, then evaluate (with --model)")
    .action(async (opts) => {
      if (opts.model !== undefined || opts.data !== undefined) {
        throw new UsageError(
          "eval --model/--data (detect, then evaluate) arrives with `ssd detect`; for now run detection yourself and pass --gt and --results",
        );
      }
      if (opts.gt === undefined || opts.results === undefined) {
        throw new UsageError("eval needs --gt <path> and --results <path>");
      }
      const { evaluateFiles } = await import("../lib/eval/evaluate.ts");
      const { evalReportJson, formatEvalTable } = await import("../lib/eval/report.ts");
      const metric = opts.metric;
      const metrics = metric === undefined
        ? undefined
        : metric === "all"
        ? (["coco", "voc07", "voc"] as const)
        : [metric];
      const started = performance.now();
      let report;
      try {
        report = await evaluateFiles(opts.gt, opts.results, {
          metrics: metrics && [...metrics],
          set: opts.set,
        });
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
      console.error(
        `evaluated ${report.numImages} images in ${
          ((performance.now() - started) / 1000).toFixed(2)
        } s`,
      );
      if (opts.plots !== undefined) {
        const { writeEvalPlots } = await import("../lib/eval/plot_report.ts");
        const written = await writeEvalPlots(opts.plots, report);
        console.error(`wrote ${written.length} plots to ${opts.plots}`);
      }
      console.log(
        opts.json ? JSON.stringify(evalReportJson(report), null, 2) : formatEvalTable(report),
      );
    });
}
