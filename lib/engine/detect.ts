/**
 * Detection through an {@linkcode InferenceEngine}, on plain arrays from end to end: RGB u8 →
 * resize (OpenCV-exact) → normalize → `engine.predict` → softmax and `decodeBoxesArray` →
 * `selectDetections` (per-class NMS) → boxes in pixels of the original image. With the
 * onnxruntime engine no tfjs op runs; with the tfjs engine only the network does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { loadModel } from "../model/load.ts";
 * import { readImage } from "../data/image.ts";
 * import { tfjsEngine } from "./tfjs_engine.ts";
 * import { engineDetector } from "./detect.ts";
 * await tf.setBackend("cpu");
 * const detector = engineDetector(tfjsEngine(await loadModel("face-slim-320")));
 * const image = await readImage(new URL("../../samples/pair.jpg", import.meta.url).pathname);
 * const faces = await detector.detect(image);
 * assert.equal(faces.length, 2);
 * assert.equal(faces[0].class, "face");
 * await detector.dispose();
 * ```
 *
 * @module
 */
import { decodeBoxesArray } from "../boxes.ts";
import type { ModelConfig } from "../config.ts";
import type { RgbImage } from "../data/types.ts";
import { resizeBilinearCv2 } from "../data/resize.ts";
import { normalizeRgb } from "../data/normalize.ts";
import type { Detection, DetectOptions, Detector, DetectTimings } from "../detector.ts";
import { type Detections, type PostprocessOptions, selectDetections } from "../nms.ts";
import { generatePriors } from "../priors.ts";
import type { InferenceEngine } from "./engine.ts";

/**
 * Softmax over each row of `logits [N, C]` (row-major), computed in float64 from the row
 * maximum and stored as float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softmaxRows } from "./detect.ts";
 * const p = softmaxRows(new Float32Array([0, 0, 1000, 0]), 2);
 * assert.deepEqual([...p], [0.5, 0.5, 1, 0]);
 * ```
 */
export function softmaxRows(logits: Float32Array, columns: number): Float32Array {
  if (!Number.isInteger(columns) || columns < 1 || logits.length % columns !== 0) {
    throw new TypeError(
      `Cannot take a softmax: logits must have shape [N, ${columns}], got ${logits.length} values`,
    );
  }
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length; r += columns) {
    let max = -Infinity;
    for (let k = 0; k < columns; k++) max = Math.max(max, logits[r + k]);
    let sum = 0;
    for (let k = 0; k < columns; k++) sum += Math.exp(logits[r + k] - max);
    for (let k = 0; k < columns; k++) out[r + k] = Math.exp(logits[r + k] - max) / sum;
  }
  return out;
}

/**
 * The post-processing settings of one call: the config's, overridden by `opts`.
 *
 * @throws {RangeError} for a threshold outside [0, 1], a non-positive `maxDetections` or an
 * unknown class name.
 */
export function postprocessFor(cfg: ModelConfig, opts: DetectOptions = {}): PostprocessOptions {
  for (const key of ["scoreThreshold", "nmsIou"] as const) {
    const v = opts[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) {
      throw new RangeError(`Cannot detect: ${key} must be in [0, 1], got ${v}`);
    }
  }
  const max = opts.maxDetections;
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    throw new RangeError(`Cannot detect: maxDetections must be a positive integer, got ${max}`);
  }
  const unknown = (opts.classes ?? []).filter((c) => !cfg.classes.includes(c));
  if (unknown.length > 0) {
    throw new RangeError(
      `Cannot detect: unknown class ${unknown.map((c) => `"${c}"`).join(", ")}; ` +
        `${cfg.name} knows ${cfg.classes.slice(0, 10).join(", ")}${
          cfg.classes.length > 10 ? ", …" : ""
        }`,
    );
  }
  const post = cfg.postprocess;
  return {
    ...post,
    scoreThreshold: opts.scoreThreshold ?? post.scoreThreshold,
    nmsIou: opts.nmsIou ?? post.nmsIou,
    maxDetections: max ?? post.maxDetections,
    variances: cfg.variances,
    clampLog: post.clampDecode === false ? Infinity : undefined,
  };
}

/**
 * Normalized detections → {@link Detection}s in pixels of a `width`×`height` image, keeping
 * only `classes` (all when absent) and at most `maxDetections`.
 */
export function toPixelDetections(
  d: Detections,
  cfg: ModelConfig,
  image: { width: number; height: number },
  opts: { classes?: string[]; maxDetections: number },
): Detection[] {
  const keep = opts.classes ? new Set(opts.classes) : null;
  const out: Detection[] = [];
  for (let i = 0; i < d.scores.length && out.length < opts.maxDetections; i++) {
    const name = cfg.classes[d.labels[i] - 1];
    if (keep && !keep.has(name)) continue;
    out.push({
      bbox: [
        d.boxes[4 * i] * image.width,
        d.boxes[4 * i + 1] * image.height,
        d.boxes[4 * i + 2] * image.width,
        d.boxes[4 * i + 3] * image.height,
      ],
      score: d.scores[i],
      label: d.labels[i],
      class: name,
    });
  }
  return out;
}

/** Wraps an engine (owned from then on) as a detector. */
export function engineDetector(engine: InferenceEngine): Detector {
  const cfg = engine.config;
  const priors = generatePriors(cfg); // [P, 4] cxcywh
  const [h, w] = cfg.imageSize;
  const timings: DetectTimings = { preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 };
  return {
    config: cfg,
    engine,
    get lastTimings() {
      return { ...timings };
    },
    async detect(image: RgbImage, opts: DetectOptions = {}): Promise<Detection[]> {
      const post = postprocessFor(cfg, opts);
      const t0 = performance.now();
      const resized = image.width === w && image.height === h
        ? image
        : resizeBilinearCv2(image, w, h);
      const x = normalizeRgb(resized, cfg.preprocess); // [1, H, W, 3]
      const t1 = performance.now();
      const out = await engine.predict(x, 1);
      const t2 = performance.now();
      const boxes = decodeBoxesArray(out.locPred, priors, post); // [P, 4] xyxy
      const scores = softmaxRows(out.clsLogits, out.numClasses); // [P, C]
      // NMS is per class, so dropping classes after it equals dropping them before; only the
      // cut to maxDetections waits until the unwanted classes are gone.
      const d = selectDetections(boxes, scores, {
        ...post,
        maxDetections: opts.classes ? Number.MAX_SAFE_INTEGER : post.maxDetections,
      });
      const found = toPixelDetections(d, cfg, image, {
        classes: opts.classes,
        maxDetections: post.maxDetections,
      });
      timings.preprocessMs = t1 - t0;
      timings.inferenceMs = t2 - t1;
      timings.postprocessMs = performance.now() - t2;
      return found;
    },
    dispose: () => engine.dispose(),
  };
}
