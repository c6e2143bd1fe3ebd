/**
 * The small top-level API, as tfjs-models' coco-ssd: `loadDetector(model)` →
 * `detector.detect(image, opts)` → `detector.dispose()`.
 *
 * One image goes: RGB u8 → resize to the network input (the config's resize) → normalize →
 * `model.predict` → decode against the priors → per-class NMS → boxes in pixels of the
 * original image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { loadDetector } from "./detector.ts";
 * import { readImage } from "./data/image.ts";
 * await tf.setBackend("cpu");
 * const detector = await loadDetector("face-slim-320");
 * const image = await readImage(new URL("../samples/pair.jpg", import.meta.url).pathname);
 * const faces = await detector.detect(image);
 * assert.equal(faces.length, 2);
 * assert.equal(faces[0].class, "face");
 * detector.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ModelConfig } from "./config.ts";
import type { RgbImage } from "./data/types.ts";
import { resizeBilinearCv2 } from "./data/resize.ts";
import { normalizeRgb } from "./data/normalize.ts";
import type { SsdModel } from "./model/ssd.ts";
import { loadModel } from "./model/load.ts";
import { priorsTensor } from "./priors.ts";
import { postprocessDetections } from "./nms.ts";

/** One detected object, in pixels of the input image. */
export interface Detection {
  /** `[x1, y1, x2, y2]` in pixels of the original image (0-based, continuous; not rounded). */
  bbox: [number, number, number, number];
  /** Class probability. */
  score: number;
  /** Class index, 1 … C − 1 (0 is background). */
  label: number;
  /** Class name. */
  class: string;
}

/** Per-call overrides of the model config's post-processing. */
export interface DetectOptions {
  /** Keep detections scoring strictly above this. Default: the config's. */
  scoreThreshold?: number;
  /** Per-class NMS IoU threshold. Default: the config's. */
  nmsIou?: number;
  /** Most detections per image. Default: the config's. */
  maxDetections?: number;
  /** Keep only these class names. Default: all. */
  classes?: string[];
}

/** Milliseconds spent in each stage of the last {@link Detector.detect} call. */
export interface DetectTimings {
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
}

/** A loaded model ready to find objects in images. */
export interface Detector {
  readonly config: ModelConfig;
  readonly model: SsdModel;
  /** Stage times of the most recent `detect`. */
  readonly lastTimings: DetectTimings;
  /** Detections in one RGB image, by score descending. */
  detect(image: RgbImage, opts?: DetectOptions): Promise<Detection[]>;
  /** Frees the priors, and the model's weights when the detector owns the model. */
  dispose(): void;
}

/**
 * Resizes and normalizes an image into the network input `[1, H, W, 3]` float32,
 * `(pixel − mean) / std` per channel.
 */
export function preprocessImage(image: RgbImage, cfg: ModelConfig): tf.Tensor4D {
  const [h, w] = cfg.imageSize;
  const resized = image.width === w && image.height === h ? image : resizeBilinearCv2(image, w, h);
  const x = normalizeRgb(resized, cfg.preprocess); // [H, W, 3]
  return tf.tensor4d(x, [1, h, w, 3]);
}

function checkOptions(opts: DetectOptions, cfg: ModelConfig): void {
  for (const key of ["scoreThreshold", "nmsIou"] as const) {
    const v = opts[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) {
      throw new RangeError(`Cannot detect: ${key} must be in [0, 1], got ${v}`);
    }
  }
  if (
    opts.maxDetections !== undefined &&
    !(Number.isInteger(opts.maxDetections) && opts.maxDetections > 0)
  ) {
    throw new RangeError(
      `Cannot detect: maxDetections must be a positive integer, got ${opts.maxDetections}`,
    );
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
}

/** Options of {@link loadDetector}. */
export interface LoadDetectorOptions {
  /** The config a `.pth` or `.safetensors` file follows (default: inferred). */
  arch?: string;
  /**
   * Whether `dispose()` frees a model passed in (default `true`: the detector owns it from then
   * on). `false` lends the model, as training validation does with the model it still trains:
   * `dispose()` then frees only the priors. A model loaded from a name or file is always owned.
   */
  owned?: boolean;
}

/**
 * Wraps a model (or loads one: a shipped name, a `.safetensors` or a `.pth`) as a detector.
 * When no tfjs backend has been chosen yet it starts the default one (`initBackend("auto")`:
 * WebGPU on a real GPU, else multi-threaded wasm); one chosen before (`initBackend`,
 * `tf.setBackend`) is kept.
 * A model passed in is owned by the detector from then on (`dispose()` frees it) unless
 * `owned: false`. Detection always runs the model in inference mode (`training: false`:
 * BatchNorm uses its running statistics and leaves them alone), and reads the model's current
 * weights on every call, so a lent model being trained is detected with as it is now.
 */
export async function loadDetector(
  model: string | SsdModel,
  opts: LoadDetectorOptions = {},
): Promise<Detector> {
  if (tf.getBackend() == null) {
    // No backend chosen yet (tfjs would fail on the first op): the default one, as `ssd` does.
    const { initBackend } = await import("./engine/tfjs.ts");
    await initBackend("auto");
  }
  const ssd = typeof model === "string" ? await loadModel(model, { arch: opts.arch }) : model;
  const ownsModel = typeof model === "string" || (opts.owned ?? true);
  const cfg = ssd.config;
  const priors = priorsTensor(cfg); // [P, 4] cxcywh
  const timings: DetectTimings = { preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 };

  async function detect(image: RgbImage, options: DetectOptions = {}): Promise<Detection[]> {
    checkOptions(options, cfg);
    const t0 = performance.now();
    const input = preprocessImage(image, cfg);
    const t1 = performance.now();
    let out;
    try {
      out = ssd.predict(input, { training: false }); // [1, P, 4], [1, P, C]
    } finally {
      input.dispose();
    }
    const [locPred, clsLogits] = tf.tidy(() => [
      tf.squeeze(out.locPred, [0]),
      tf.squeeze(out.clsLogits, [0]),
    ]) as [
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    tf.dispose([out.locPred, out.clsLogits]);
    try {
      await locPred.data(); // wait for the backend, so inference time is inference time
      const t2 = performance.now();
      const post = { ...cfg.postprocess };
      if (options.scoreThreshold !== undefined) post.scoreThreshold = options.scoreThreshold;
      if (options.nmsIou !== undefined) post.nmsIou = options.nmsIou;
      if (options.maxDetections !== undefined) post.maxDetections = options.maxDetections;
      const maxDetections = post.maxDetections;
      const keep = options.classes ? new Set(options.classes) : null;
      // NMS is per class, so dropping classes after it equals dropping them before; only the
      // final cut to maxDetections must wait until the unwanted classes are gone.
      if (keep) post.maxDetections = Number.MAX_SAFE_INTEGER;
      const d = await postprocessDetections({ locPred, clsLogits }, priors, {
        ...post,
        variances: cfg.variances,
        clampLog: post.clampDecode === false ? Infinity : undefined,
      });
      const out: Detection[] = [];
      for (let i = 0; i < d.scores.length && out.length < maxDetections; i++) {
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
      const t3 = performance.now();
      timings.preprocessMs = t1 - t0;
      timings.inferenceMs = t2 - t1;
      timings.postprocessMs = t3 - t2;
      return out;
    } finally {
      locPred.dispose();
      clsLogits.dispose();
    }
  }

  return {
    config: cfg,
    model: ssd,
    get lastTimings() {
      return { ...timings };
    },
    detect,
    dispose() {
      priors.dispose();
      if (ownsModel) ssd.dispose();
    },
  };
}
