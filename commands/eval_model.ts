/**
 * `ssd eval --model M --data D`: detect over every image of a VOC, COCO or YOLO dataset, then
 * evaluate with the same code as `ssd eval --gt … --results …` (`evaluateDetector`, shared with
 * training validation: score > 0.01 unless `--score`, at most 200 detections per image).
 * Loaded lazily.
 *
 * The run gets its own folder (`runs/eval/eval`, `eval2`, …) with the detections in both
 * results formats `ssd eval --results` reads: `detections.json` (COCO) and
 * `comp4_det_<set>_<class>.txt` (VOC devkit), so `ssd eval --gt D --results <run folder>` (VOC)
 * or `--results <run folder>/detections.json` (COCO) gives the same numbers again.
 */
import { FileError, UsageError } from "../lib/errors.ts";
import { datasetKind, findSet, HELD_OUT_SETS, loadDataset } from "../lib/data/dataset.ts";
import { readVocImageSet } from "../lib/data/voc.ts";
import { isOnnxModel, loadDetector } from "../lib/detector.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { resolveEngine } from "./options.ts";
import { evaluateDetector } from "../lib/eval/detect_dataset.ts";
import { type EvalMetric, type EvalReport, vocToCoco } from "../lib/eval/evaluate.ts";
import { writeCocoResults, writeVocDetections } from "../lib/eval/writers.ts";
import { makeRunDir } from "../lib/io/run_dir.ts";
import { JobProgress } from "./progress.ts";

/** Flags of the detect-then-evaluate path. */
export interface ModelEvalOptions {
  model: string;
  data: string;
  arch?: string;
  backend: "auto" | "wasm" | "webgpu" | "cpu";
  engine: "auto" | "tfjs" | "onnx";
  set?: string;
  /** Keep detections scoring above this (default 0.01; at most 200 per image either way). */
  score?: number;
  metrics?: EvalMetric[];
  /** The run folder is `<project>/eval/<name>` (then `<name>2`, …). */
  project: string;
  name: string;
  quiet: boolean;
}

/**
 * Detects on the dataset, evaluates, and writes the detections into a new run folder;
 * per-image failures are reported and counted.
 */
export async function runModelEval(
  opts: ModelEvalOptions,
): Promise<{ report: EvalReport; failed: number; runDir: string }> {
  // A VOC root is evaluated on one image set, chosen as `ssd eval --gt` does: --set, else
  // test, else the only list (never the training lists by default); a YOLO dataset or COCO
  // folder on its val split (else test, else every image), as ultralytics validates.
  let set = opts.set;
  if (set === undefined && await datasetKind(opts.data) === "voc") {
    set = (await readVocImageSet(opts.data)).set;
  } else if (set === undefined) {
    set = await findSet(opts.data, HELD_OUT_SETS);
  }
  const dataset = await loadDataset(opts.data, { set });
  if (!opts.quiet && set !== undefined) console.error(`image set "${set}"`);
  if (dataset.samples.length === 0) throw new FileError(opts.data, "the dataset has no images");
  if (!isOnnxModel(opts.model)) await initBackend(opts.backend);
  const detector = await loadDetector(opts.model, {
    arch: opts.arch,
    engine: resolveEngine(opts.engine, opts.backend),
  });
  const shared = detector.config.classes.filter((c) => dataset.classes.includes(c));
  if (shared.length === 0) {
    await detector.dispose();
    throw new UsageError(
      `model ${detector.config.name} (${detector.config.classes.slice(0, 5).join(", ")}…) ` +
        `shares no class name with ${opts.data} (${dataset.classes.slice(0, 5).join(", ")}…)`,
    );
  }
  const total = dataset.samples.length;
  const progress = new JobProgress({ label: "eval", unit: "images", total, quiet: opts.quiet });
  let runDir: string;
  try {
    // Claimed once the model loads and fits the data, so a failed start leaves no folder.
    runDir = await makeRunDir(`${opts.project}/eval`, opts.name);
    const { report, failed, inputs } = await evaluateDetector(detector, dataset, {
      scoreThreshold: opts.score,
      metrics: opts.metrics,
      analysis: true,
      onError: (sample, err) => {
        const msg = err instanceof FileError
          ? err.message
          : new FileError(sample.imagePath, (err as Error).message).message;
        progress.print(() => console.error(`error: ${msg}`));
      },
      onProgress: () => progress.tick(),
    });
    progress.stop();
    if (!opts.quiet) console.error(`detected on ${progress.summary()}`);
    // The devkit's file names carry the image set; a COCO or YOLO dataset has none ("all").
    const files = await writeVocDetections(runDir, set ?? "all", inputs.classes, inputs.dets);
    const coco = inputs.coco ?? vocToCoco(inputs.images, inputs.dets, inputs.classes);
    await writeCocoResults(`${runDir}/detections.json`, coco.results);
    if (!opts.quiet) {
      console.error(
        `wrote the detections to ${runDir} (detections.json, ${files.length} comp4_det_*.txt)`,
      );
    }
    return { report, failed, runDir };
  } finally {
    progress.stop();
    await detector.dispose();
  }
}
