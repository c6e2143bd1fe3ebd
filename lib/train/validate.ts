/**
 * Validation during training: the model being trained, in inference mode, run over the
 * validation set with `ssd eval --model`'s code at evaluation settings (score threshold 0.01,
 * 200 detections per image, as Caffe SSD and torchvision evaluate), so the mAP it reports is
 * the one `ssd eval` gives for the saved checkpoint. A few images are drawn with their
 * detections scoring above 0.3.
 *
 * @module
 */
import type { SsdModel } from "../model/ssd.ts";
import type { Dataset } from "../data/types.ts";
import { loadDetector } from "../detector.ts";
import { evaluateDetector } from "../eval/detect_dataset.ts";
import type { EvalReport } from "../eval/evaluate.ts";
import { drawDetectionsOnSample } from "./pictures.ts";
import { makeOutputDir } from "../io/atomic.ts";

/** Validation figures of one epoch. */
export interface ValidationResult {
  metrics: { mapVoc07: number; mapVoc: number; apCoco?: number };
  /** The whole evaluation, per class, with P and R at the best-F1 confidence (`analysis`). */
  report: EvalReport;
  /** The figure `best.safetensors` follows: VOC all-point mAP@0.5 (AP50). */
  score: number;
}

/** Options of {@link validate}. */
export interface ValidateOptions {
  /** Folder for drawn validation images (made if needed); none drawn when absent. */
  drawDir?: string;
  /** How many images to draw. Default 8. */
  drawCount?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * What runs the network: `tfjs` (default) or `onnx` (the model exported in memory and run by
   * onnxruntime, as `ssd eval --engine onnx`).
   */
  engine?: "tfjs" | "onnx";
}

/** Evaluates `model` on `dataset` (the model stays the caller's). */
export async function validate(
  model: SsdModel,
  dataset: Dataset,
  opts: ValidateOptions = {},
): Promise<ValidationResult> {
  const detector = await loadDetector(model, { owned: false, engine: opts.engine ?? "tfjs" });
  try {
    const metrics = dataset.format === "coco"
      ? ["voc07", "voc", "coco"] as const
      : ["voc07", "voc"] as const;
    const { report, detections } = await evaluateDetector(detector, dataset, {
      metrics: [...metrics],
      analysis: true,
      onProgress: opts.onProgress,
    });
    if (opts.drawDir !== undefined) {
      await makeOutputDir(opts.drawDir);
      for (const sample of dataset.samples.slice(0, opts.drawCount ?? 8)) {
        const safeId = sample.id.replace(/[^\w.-]/g, "_");
        await drawDetectionsOnSample(sample.imagePath, detections.get(sample.id) ?? [], {
          path: `${opts.drawDir}/${safeId}.png`,
          classes: model.config.classes,
        }).catch(() => {}); // an unreadable image was already counted by the evaluation
      }
    }
    const mapVoc = report.voc?.mAP ?? NaN;
    return {
      metrics: {
        mapVoc07: report.voc07?.mAP ?? NaN,
        mapVoc,
        ...(report.coco ? { apCoco: report.coco.stats[0] } : {}),
      },
      score: Number.isNaN(mapVoc) ? 0 : mapVoc,
      report,
    };
  } finally {
    await detector.dispose();
  }
}
