/**
 * Detection over every image of a dataset, then its evaluation: what `ssd eval --model M
 * --data D` and training validation both run, with the same evaluation settings.
 *
 * The settings are the ones SSD is evaluated with: keep every detection scoring above
 * {@link EVAL_SCORE_THRESHOLD} (0.01) and at most {@link EVAL_MAX_DETECTIONS} (200) per image,
 * as Caffe SSD's `test.prototxt` (`confidence_threshold: 0.01`, `keep_top_k: 200`) and
 * torchvision's `ssd300_vgg16` (`score_thresh=0.01`, `detections_per_img=200`) do. A model's own
 * post-processing (UltraFace's 0.7, say) is for showing detections; mAP needs the low-scoring
 * tail, or recall is cut short.
 *
 * @module
 */
import type { Dataset, Sample } from "../data/types.ts";
import { readImage } from "../data/image.ts";
import type { Detector } from "../detector.ts";
import { type DatasetDetection, datasetEvalInputs } from "./dataset_eval.ts";
import { type EvalInputs, type EvalMetric, type EvalReport, evaluateForms } from "./evaluate.ts";

/** Score a detection must exceed to be evaluated (Caffe SSD, torchvision: 0.01). */
export const EVAL_SCORE_THRESHOLD = 0.01;
/** Most detections evaluated per image (Caffe SSD `keep_top_k`, torchvision: 200). */
export const EVAL_MAX_DETECTIONS = 200;

/** Options of {@link detectDataset}. */
export interface DetectDatasetOptions {
  /** Keep detections scoring strictly above this. Default {@link EVAL_SCORE_THRESHOLD}. */
  scoreThreshold?: number;
  /** Most detections per image. Default {@link EVAL_MAX_DETECTIONS}. */
  maxDetections?: number;
  /** Called after each image (detected or failed) with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called for an image that cannot be read or detected on; it is counted in `failed`, left
   * out of the detections (so its objects count as missed), and the other images go on.
   */
  onError?: (sample: Sample, err: unknown) => void;
}

/** What {@link detectDataset} found. */
export interface DatasetDetections {
  /** Detections by sample id, in pixels of the image; failed images have no entry. */
  detections: Map<string, DatasetDetection[]>;
  /** Images that could not be read or detected on. */
  failed: number;
}

/**
 * Runs a detector over every image of a dataset, in order, one image at a time.
 *
 * The detector is not disposed; its model runs in inference mode (`training: false`).
 *
 * @throws RangeError for a score threshold outside [0, 1] or a max count that is not a
 * positive integer (before any image is read)
 *
 * @param detector from `loadDetector` (a lent model: `loadDetector(model, { owned: false })`)
 * @param dataset from `loadDataset`; each sample's image file is read and decoded
 * @returns detections by sample id (`bboxPx` xyxy pixels, score, class name) and the failures
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { loadDetector } from "../detector.ts";
 * import { detectDataset } from "./detect_dataset.ts";
 * await tf.setBackend("cpu");
 * const detector = await loadDetector("face-slim-320");
 * const imagePath = new URL("../../samples/pair.jpg", import.meta.url).pathname;
 * const dataset = {
 *   format: "voc" as const, root: "mem", classes: ["face"],
 *   samples: [{ id: "pair", imagePath, width: 0, height: 0, objects: [] }],
 * };
 * const { detections, failed } = await detectDataset(detector, dataset, { scoreThreshold: 0.7 });
 * assert.equal(failed, 0);
 * assert.equal(detections.get("pair")!.length, 2); // the two faces
 * await detector.dispose();
 * ```
 */
export async function detectDataset(
  detector: Detector,
  dataset: Dataset,
  opts: DetectDatasetOptions = {},
): Promise<DatasetDetections> {
  const scoreThreshold = opts.scoreThreshold ?? EVAL_SCORE_THRESHOLD;
  const maxDetections = opts.maxDetections ?? EVAL_MAX_DETECTIONS;
  // Checked before the loop: a bad option is the caller's mistake, not every image's failure.
  if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) {
    throw new RangeError(
      `Cannot detect over a dataset: scoreThreshold must be in [0, 1], got ${scoreThreshold}`,
    );
  }
  if (!(Number.isInteger(maxDetections) && maxDetections > 0)) {
    throw new RangeError(
      `Cannot detect over a dataset: maxDetections must be a positive integer, got ${maxDetections}`,
    );
  }
  const detections = new Map<string, DatasetDetection[]>();
  let failed = 0;
  const total = dataset.samples.length;
  for (const [i, sample] of dataset.samples.entries()) {
    try {
      const image = await readImage(sample.imagePath);
      const found = await detector.detect(image, { scoreThreshold, maxDetections });
      detections.set(
        sample.id,
        found.map((d) => ({ bboxPx: d.bbox, score: d.score, className: d.class })),
      );
    } catch (err) {
      failed++;
      opts.onError?.(sample, err);
    }
    opts.onProgress?.(i + 1, total);
  }
  return { detections, failed };
}

/** Options of {@link evaluateDetector}. */
export interface EvaluateDetectorOptions extends DetectDatasetOptions {
  /** Metrics to compute. Default: `coco` for a COCO dataset, `voc07` and `voc` otherwise. */
  metrics?: EvalMetric[];
  /** Also compute P/R/F1 against confidence and the confusion matrix (`report.analysis`). */
  analysis?: boolean;
}

/** What {@link evaluateDetector} measured, with the detections it measured. */
export interface DetectorEvaluation extends DatasetDetections {
  /** The metrics asked for, and the analysis when `analysis` was set. */
  report: EvalReport;
  /** The ground truth and detections in the forms the metrics read (COCO form for COCO data). */
  inputs: EvalInputs;
}

/** The metrics a dataset is evaluated with by default: its own format's. */
export function defaultMetrics(dataset: Dataset): EvalMetric[] {
  return dataset.format === "coco" ? ["coco"] : ["voc07", "voc"];
}

/**
 * Detects over a dataset ({@link detectDataset}) and evaluates the detections against its
 * ground truth (`evaluateDataset`: the same numbers as `ssd eval --gt … --results …`).
 *
 * @returns the report, the failed image count, the detections by sample id and in the forms
 *   the metrics read
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { loadDetector } from "../detector.ts";
 * import { evaluateDetector } from "./detect_dataset.ts";
 * await tf.setBackend("cpu");
 * const detector = await loadDetector("face-slim-320");
 * const imagePath = new URL("../../samples/pair.jpg", import.meta.url).pathname;
 * const dataset = {
 *   format: "voc" as const, root: "mem", classes: ["face"],
 *   samples: [{ id: "pair", imagePath, width: 0, height: 0, objects: [] }],
 * };
 * const { report, failed } = await evaluateDetector(detector, dataset);
 * assert.equal(failed, 0);
 * assert.ok(Number.isNaN(report.voc07!.mAP)); // no ground truth: no class to average
 * await detector.dispose();
 * ```
 */
export async function evaluateDetector(
  detector: Detector,
  dataset: Dataset,
  opts: EvaluateDetectorOptions = {},
): Promise<DetectorEvaluation> {
  const { detections, failed } = await detectDataset(detector, dataset, opts);
  const inputs = await datasetEvalInputs(dataset, detections, { coco: true });
  const report = evaluateForms(inputs, opts.metrics ?? defaultMetrics(dataset), {
    analysis: opts.analysis,
  });
  return { report, failed, detections, inputs };
}
