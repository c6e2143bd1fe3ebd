import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";
import { backendOption, engineOption, parseUnit } from "./options.ts";

const METRICS = ["coco", "voc07", "voc", "all"] as const;

/**
 * `ssd eval --gt GT --results R [--metric coco|voc07|voc|all] [--set S] [--json] [--plots DIR]`:
 * PASCAL VOC (py-faster-rcnn `voc_eval`) and COCO (pycocotools) mAP of a results file or folder.
 * A table on stdout (or `--json`) with precision and recall at the best-F1 confidence, summary
 * figures with `--plots`.
 *
 * `ssd eval --model M --data D` detects first, in a new run folder (`runs/eval/eval`, `eval2`,
 * …) that receives the detections (COCO JSON and VOC comp4 files) and the figures.
 */
export function evalCommand() {
  return new Command("eval")
    .description(
      "mAP of detections: COCO (pycocotools) and PASCAL VOC (voc_eval, 11-point and all-point); " +
        "with --model and --data, detect first and save detections and figures to runs/eval/eval, eval2, …",
    )
    .option(
      "--gt <path>",
      "ground truth: a COCO instances JSON or a folder of them, a VOC root (Annotations/, " +
        "ImageSets/Main/), or a YOLO dataset (folder or data.yaml)",
    )
    .option(
      "--results <path>",
      "detections: a COCO results JSON, or a folder of per-class VOC files (<class>.txt or comp4_det_<set>_<class>.txt)",
    )
    .addOption(
      new Option(
        "--metric <name>",
        "coco | voc07 | voc | all (default: coco for a results JSON or COCO data, voc07 and voc " +
          "otherwise)",
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
      "VOC image set (ImageSets/Main/<set>.txt; default test, or the only list), or YOLO or " +
        "COCO-folder split (default val, else test, else every image)",
    )
    .option("--json", "print the results as JSON")
    .option("--plots <dir>", "write the summary figures (PNG) into this folder")
    .option("--no-plots", "with --model: no figures in the run folder")
    .option("--plots-per-class", "also one precision/recall figure per class and metric")
    .option(
      "--model <model>",
      "detect with this model first (a shipped name, .safetensors or .pth; with --data)",
    )
    .option(
      "--data <dataset>",
      "dataset to detect on, then evaluate: a VOC root, COCO JSON, YOLO folder or data.yaml " +
        "(with --model)",
    )
    .option("--arch <name>", "the config a .pth or .safetensors model follows (default: inferred)")
    .option(
      "--score <t>",
      "with --model: keep detections above this (default 0.01; at most 200 per image, as SSD is evaluated)",
      parseUnit,
    )
    .option(
      "--project <dir>",
      "with --model: runs folder; detections and figures go to <project>/eval/<name>",
      "runs",
    )
    .option(
      "--name <name>",
      "with --model: run name under <project>/eval (increments: eval, eval2, …)",
    )
    .addOption(backendOption())
    .addOption(engineOption())
    .option("-q, --quiet", "no progress or timing on stderr")
    .action(async (opts, cmd) => {
      const given = (name: string) => cmd.getOptionValueSource(name) === "cli";
      const metric = opts.metric;
      const metrics = metric === undefined
        ? undefined
        : metric === "all"
        ? (["coco", "voc07", "voc"] as const)
        : [metric];
      const quiet = opts.quiet ?? false;
      const withModel = opts.model !== undefined || opts.data !== undefined;
      const plotsDir = typeof opts.plots === "string" ? opts.plots : undefined;
      if (!withModel) {
        if (given("project") || given("name")) {
          throw new UsageError("--project and --name name the run folder of --model and --data");
        }
        if (opts.plotsPerClass && plotsDir === undefined) {
          throw new UsageError("--plots-per-class needs --plots <dir> (or --model and --data)");
        }
      }
      if (opts.plotsPerClass && opts.plots === false) {
        throw new UsageError("--plots-per-class and --no-plots contradict each other");
      }
      const started = performance.now();
      if (plotsDir !== undefined) {
        // Checked before the work, so a long run is not lost to an unwritable folder.
        const { makeOutputDir } = await import("../lib/io/atomic.ts");
        await makeOutputDir(plotsDir);
      }
      let report;
      let runDir: string | undefined;
      if (withModel) {
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
          engine: opts.engine,
          set: opts.set,
          score: opts.score,
          metrics: metrics && [...metrics],
          project: opts.project,
          name: opts.name ?? "eval",
          quiet,
        });
        report = run.report;
        runDir = run.runDir;
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
            analysis: true,
          });
        } catch (err) {
          if (err instanceof RangeError) throw new UsageError(err.message);
          throw err;
        }
        if (!quiet) {
          const s = ((performance.now() - started) / 1000).toFixed(2);
          console.error(`evaluated ${report.numImages} images in ${s} s`);
        }
      }
      const { evalReportJson, formatEvalTable } = await import("../lib/eval/report.ts");
      // The results first: a plot that cannot be written must not lose them.
      console.log(
        opts.json ? JSON.stringify(evalReportJson(report), null, 2) : formatEvalTable(report),
      );
      const figures = plotsDir ?? (opts.plots === false ? undefined : runDir);
      if (figures !== undefined) {
        const { writeEvalPlots } = await import("../lib/eval/plot_report.ts");
        const { JobProgress } = await import("./progress.ts");
        const progress = new JobProgress({ label: "plots", unit: "plots", total: 0, quiet });
        let written: string[];
        try {
          written = await writeEvalPlots(figures, report, {
            perClass: opts.plotsPerClass ?? false,
            onProgress: (_, total) => {
              progress.total = total;
              progress.tick();
            },
          });
        } finally {
          progress.stop();
        }
        if (!quiet) console.error(`wrote ${written.length} figures to ${figures}`);
      }
    });
}
