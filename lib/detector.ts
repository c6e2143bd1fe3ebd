/**
 * The small top-level API, as tfjs-models' coco-ssd: `loadDetector(model)` →
 * `detector.detect(image, opts)` → `detector.dispose()`.
 *
 * One image goes: RGB u8 → resize to the network input (the config's resize) → normalize →
 * the network, on an {@linkcode InferenceEngine} (tfjs, or onnxruntime on the model exported to
 * ONNX in memory) → decode against the priors → per-class NMS → boxes in pixels of the original
 * image. Everything but the network runs on plain arrays (`lib/engine/detect.ts`), so both
 * engines share it.
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
 * await detector.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ModelConfig } from "./config.ts";
import type { RgbImage } from "./data/types.ts";
import { UsageError } from "./errors.ts";
import type { SsdModel } from "./model/ssd.ts";
import { loadModel } from "./model/load.ts";
import type { InferenceEngine } from "./engine/engine.ts";
import { tfjsEngine } from "./engine/tfjs_engine.ts";
import { engineDetector } from "./engine/detect.ts";

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
  /** Resize and normalization of the image. */
  preprocessMs: number;
  /** The network, on the engine, outputs read back. */
  inferenceMs: number;
  /** Decode, softmax, per-class NMS and the mapping to pixels. */
  postprocessMs: number;
}

/** A loaded model ready to find objects in images. */
export interface Detector {
  /** The model's config: classes, input size, priors, post-processing defaults. */
  readonly config: ModelConfig;
  /** What runs the network: `engine.kind` is `tfjs` or `onnxruntime`. */
  readonly engine: InferenceEngine;
  /** Stage times of the most recent `detect`. */
  readonly lastTimings: DetectTimings;
  /**
   * Detections in one RGB image, by score descending.
   *
   * @throws {RangeError} for a threshold outside [0, 1], a non-positive `maxDetections` or an
   * unknown class name.
   */
  detect(image: RgbImage, opts?: DetectOptions): Promise<Detection[]>;
  /** Frees the engine (and the model's weights when the detector owns the model). */
  dispose(): Promise<void>;
}

/**
 * Which engine runs the network:
 * - `tfjs`: the model on the current tfjs backend (WebGPU, wasm or cpu);
 * - `onnx`: onnxruntime, on a `.onnx` file or on the model exported to ONNX in memory;
 * - `auto`: `onnx` for a `.onnx` file, and for a model loaded by name or file unless the tfjs
 *   backend is WebGPU (a real GPU); a model object passed in runs on `tfjs`.
 */
export type EngineChoice = "auto" | "tfjs" | "onnx";

/** Options of {@link loadDetector}. */
export interface LoadDetectorOptions {
  /** The config a `.pth` or `.safetensors` file follows (default: inferred). */
  arch?: string;
  /**
   * Whether `dispose()` frees a model passed in (default `true`: the detector owns it from then
   * on). `false` lends the model, as training validation does with the model it still trains.
   * A model loaded from a name or file is always owned.
   */
  owned?: boolean;
  /** Default `auto`. */
  engine?: EngineChoice;
}

/** Whether a `--model` value names an exported ONNX file (run by onnxruntime, never tfjs). */
export function isOnnxModel(spec: string): boolean {
  return spec.toLowerCase().endsWith(".onnx");
}

/** The model's network as an onnxruntime engine (exported in memory; nothing is written). */
async function onnxEngineOf(model: SsdModel): Promise<InferenceEngine> {
  const [{ serializeOnnx }, { loadOnnxEngine }] = await Promise.all([
    import("./export/onnx.ts"),
    import("./engine/onnx_engine.ts"),
  ]);
  return await loadOnnxEngine(serializeOnnx(model.graph, model.stateDict(), model.config));
}

/** Starts the default tfjs backend when none has been chosen (tfjs fails on the first op else). */
async function ensureBackend(): Promise<void> {
  if (tf.getBackend() == null) {
    const { initBackend } = await import("./engine/tfjs.ts");
    await initBackend("auto");
  }
}

/** The engine `opts.engine` asks for, on `model`. */
async function openEngine(
  model: string | SsdModel,
  opts: LoadDetectorOptions,
): Promise<InferenceEngine> {
  const choice = opts.engine ?? "auto";
  if (typeof model === "string" && isOnnxModel(model)) {
    if (choice === "tfjs") {
      throw new UsageError(`${model} is an ONNX model: it runs on the onnx engine, not tfjs`);
    }
    const { loadOnnxEngine } = await import("./engine/onnx_engine.ts");
    return await loadOnnxEngine(model);
  }
  await ensureBackend(); // building the model needs a backend, whichever engine runs it
  if (typeof model !== "string") {
    if (choice !== "onnx") return tfjsEngine(model, { owned: opts.owned ?? true });
    try {
      return await onnxEngineOf(model);
    } finally {
      if (opts.owned ?? true) model.dispose();
    }
  }
  const ssd = await loadModel(model, { arch: opts.arch });
  if (choice === "tfjs" || (choice === "auto" && tf.getBackend() === "webgpu")) {
    return tfjsEngine(ssd);
  }
  try {
    return await onnxEngineOf(ssd);
  } finally {
    ssd.dispose();
  }
}

/**
 * Wraps a model (or loads one: a shipped name, a `.safetensors`, a `.pth` or an exported
 * `.onnx`) as a detector, on the engine `opts.engine` chooses (see {@link EngineChoice}).
 * When no tfjs backend has been chosen yet it starts the default one (`initBackend("auto")`:
 * WebGPU on a real GPU, else multi-threaded wasm); one chosen before is kept.
 * On tfjs, detection runs the model in inference mode (`training: false`: BatchNorm uses its
 * running statistics and leaves them alone) with its current weights on every call, so a lent
 * model being trained is detected with as it is now.
 *
 * @throws {UsageError} for a `.onnx` file on the tfjs engine; what loading the model throws.
 */
export async function loadDetector(
  model: string | SsdModel,
  opts: LoadDetectorOptions = {},
): Promise<Detector> {
  return engineDetector(await openEngine(model, opts));
}
