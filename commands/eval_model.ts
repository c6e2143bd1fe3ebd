/**
 * `ssd eval --model M --data D`: detect over every image of a VOC, COCO or YOLO dataset, then
 * evaluate with the same code as `ssd eval --gt … --results …` (`evaluateDetector`, shared with
 * training validation: score > 0.01 unless `--score`, at most 200 detections per image).
 * Loaded lazily.
 */
import { FileError, UsageError } from "../lib/errors.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { readVocImageSet } from "../lib/data/voc.ts";
import { loadDetector } from "../lib/detector.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { evaluateDetector } from "../lib/eval/detect_dataset.ts";
import type { EvalMetric, EvalReport } from "../lib/eval/evaluate.ts";

/** Flags of the detect-then-evaluate path. */
export interface ModelEvalOptions {
  model: string;
  data: string;
  arch?: string;
  backend: "auto" | "wasm" | "webgpu" | "cpu";
  set?: string;
  /** Keep detections scoring above this (default 0.01; at most 200 per image either way). */
  score?: number;
  metrics?: EvalMetric[];
  quiet: boolean;
}

/** Detects on the dataset and evaluates; per-image failures are reported and counted. */
export async function runModelEval(
  opts: ModelEvalOptions,
): Promise<{ report: EvalReport; failed: number }> {
  // A VOC root is evaluated on one image set, chosen as `ssd eval --gt` does: --set, else
  // test, else the only list (never the training lists by default).
  let set = opts.set;
  if (set === undefined && (await Deno.stat(`${opts.data}/Annotations`).catch(() => null))) {
    set = (await readVocImageSet(opts.data)).set;
  }
  const dataset = await loadDataset(opts.data, { set });
  if (!opts.quiet && set !== undefined) console.error(`image set "${set}"`);
  if (dataset.samples.length === 0) throw new FileError(opts.data, "the dataset has no images");
  await initBackend(opts.backend);
  const detector = await loadDetector(opts.model, { arch: opts.arch });
  const shared = detector.config.classes.filter((c) => dataset.classes.includes(c));
  if (shared.length === 0) {
    detector.dispose();
    throw new UsageError(
      `model ${detector.config.name} (${detector.config.classes.slice(0, 5).join(", ")}…) ` +
        `shares no class name with ${opts.data} (${dataset.classes.slice(0, 5).join(", ")}…)`,
    );
  }
  const started = performance.now();
  const total = dataset.samples.length;
  try {
    const { report, failed } = await evaluateDetector(detector, dataset, {
      scoreThreshold: opts.score,
      metrics: opts.metrics,
      onError: (sample, err) => {
        const msg = err instanceof FileError
          ? `${err.file}: ${err.reason}`
          : `${sample.imagePath}: ${(err as Error).message}`;
        console.error(`error: ${msg}`);
      },
      onProgress: (done) => {
        if (!opts.quiet && (done % 50 === 0 || done === total)) {
          const s = (performance.now() - started) / 1000;
          console.error(`detected ${done}/${total} images (${s.toFixed(1)} s)`);
        }
      },
    });
    return { report, failed };
  } finally {
    detector.dispose();
  }
}
