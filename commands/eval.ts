import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";
import { backendOption, parseUnit } from "./options.ts";

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
    .option(
      "--model <model>",
      "detect with this model first (a shipped name, .safetensors or .pth; with --data)",
    )
    .option(
      "--data <dataset>",
      "dataset to detect on, then evaluate: a VOC root, COCO JSON or YOLO folder (with --model)",
    )
    .option("--arch <name>", "the config a .pth or .safetensors model follows (default: inferred)")
    .option(
      "--score <t>",
      "with --model: keep detections above this (default 0.01; at most 200 per image, as SSD is evaluated)",
      parseUnit,
    )
    .addOption(backendOption())
    .option("-q, --quiet", "no progress or timing on stderr")
    .action(async (opts) => {
      const metric = opts.metric;
      const metrics = metric === undefined
        ? undefined
        : metric === "all"
        ? (["coco", "voc07", "voc"] as const)
        : [metric];
      const started = performance.now();
      if (opts.plots !== undefined) {
        // Checked before the work, so a long run is not lost to an unwritable folder.
        const { makeOutputDir } = await import("../lib/io/atomic.ts");
        await makeOutputDir(opts.plots);
      }
      let report;
      if (opts.model !== undefined || opts.data !== undefined) {
        if (opts.model === undefined || opts.data === undefined) {
          throw new UsageError(
            "--model and --data go together (detect with the model on the data, then evaluate)",
          );
        }
        if (opts.gt !== undefined || opts.results !== undefined) {
          throw new UsageError("give either --gt and --results, or --model and --data, not both");
        }
        const { runModelEval } = await import("./eval_model.ts");
        const run = await runModelEval({
          model: opts.model,
          data: opts.data,
          arch: opts.arch,
          backend: opts.backend,
          set: opts.set,
          score: opts.score,
          metrics: metrics && [...metrics],
          quiet: opts.quiet ?? false,
        });
        report = run.report;
        if (run.failed > 0) Deno.exitCode = 1;
      } else {
        if (opts.gt === undefined || opts.results === undefined) {
          throw new UsageError(
            "eval needs --gt <path> and --results <path>, or --model and --data",
          );
        }
        const { evaluateFiles } = await import("../lib/eval/evaluate.ts");
        try {
          report = await evaluateFiles(opts.gt, opts.results, {
            metrics: metrics && [...metrics],
            set: opts.set,
          });
        } catch (err) {
          if (err instanceof RangeError) throw new UsageError(err.message);
          throw err;
        }
      }
      const { evalReportJson, formatEvalTable } = await import("../lib/eval/report.ts");
      const quiet = opts.quiet ?? false;
      if (!quiet) {
        const s = ((performance.now() - started) / 1000).toFixed(2);
        console.error(`evaluated ${report.numImages} images in ${s} s`);
      }
      // The results first: a plot that cannot be written must not lose them.
      console.log(
        opts.json ? JSON.stringify(evalReportJson(report), null, 2) : formatEvalTable(report),
      );
      if (opts.plots !== undefined) {
        const { writeEvalPlots } = await import("../lib/eval/plot_report.ts");
        const written = await writeEvalPlots(opts.plots, report);
        if (!quiet) console.error(`wrote ${written.length} plots to ${opts.plots}`);
      }
    });
}
