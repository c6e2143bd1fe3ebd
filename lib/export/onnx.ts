/**
 * ONNX export of an SSD model (opset 17, IR 8), serialized by protobufjs from ONNX's own
 * `onnx.proto` (the `onnx-proto` package).
 *
 * The graph, NCHW throughout:
 * - input `images [B, 3, H, W]` float32, normalized: (pixel − mean) / std per RGB channel,
 *   after resizing to W×H (what OpenCV's `blobFromImage` and torchvision exports take);
 * - outputs `loc [B, P, 4]` and `logits [B, P, C]` (raw), `boxes [B, P, 4]` (`xyxy`
 *   normalized, decoded as `decodeBoxes`, not clipped) and `scores [B, P, C]` (softmax);
 *   with `nms`, also `selected [N, 3]` int64 `(image, label, prior)`;
 * - `metadata_props`: model, arch, classes, prior hash, preprocessing, the whole config.
 *
 * {@link writeOnnx} writes to a temporary file, runs it in onnxruntime on sample images, and
 * keeps it only when every output matches the tfjs model within the tolerance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "../config.ts";
 * import { onnxMetadata } from "../engine/onnx_engine.ts";
 * import { serializeOnnx } from "./onnx.ts";
 * // a one-map network: input → 3×3 conv heads → flattened outputs
 * const cfg = { ...getConfig("tiny"), imageSize: [1, 1] as [number, number] }; // C = 5
 * cfg.priors.layers = [{ featureSize: [1, 1], anchors: { kind: "sizes", sizesPx: [1] } }];
 * const conv = (name: string, out: number) => ({
 *   op: "conv" as const, input: 0, weight: `${name}.weight`, inChannels: 3, outChannels: out,
 *   kernel: 1, stride: 1, padding: 0, dilation: 1, depthwise: false,
 * });
 * const graph = {
 *   arch: "tiny", imageSize: [1, 1] as [number, number], params: [], counters: [], sources: [0],
 *   nodes: [{ op: "input" as const }, conv("loc", 4), conv("cls", 5),
 *     { op: "flattenHead" as const, inputs: [1], columns: 4 },
 *     { op: "flattenHead" as const, inputs: [2], columns: 5 }],
 *   locPred: 3, clsLogits: 4,
 * };
 * const sd = new Map([
 *   ["loc.weight", { dtype: "float32" as const, shape: [4, 3, 1, 1], data: new Float32Array(12) }],
 *   ["cls.weight", { dtype: "float32" as const, shape: [5, 3, 1, 1], data: new Float32Array(15) }],
 * ]);
 * const bytes = serializeOnnx(graph, sd, cfg);
 * assert.equal(onnxMetadata(bytes).model, "tiny");
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { decodeBoxes } from "../boxes.ts";
import { type ModelConfig, numClasses } from "../config.ts";
import { normalizeRgb } from "../data/normalize.ts";
import { makeRng } from "../data/rng.ts";
import { FileError } from "../errors.ts";
import type { StateDict } from "../io/state_dict.ts";
import { checkWritableFile } from "../io/atomic.ts";
import type { NetworkGraph } from "../model/graph_ir.ts";
import type { SsdModel } from "../model/ssd.ts";
import { generatePriors, priorsHash } from "../priors.ts";
import { loadOnnxEngine } from "../engine/onnx_engine.ts";
import { tfjsEngine } from "../engine/tfjs_engine.ts";
import { floatValueInfo, int64ValueInfo, OnnxGraphBuilder } from "./onnx_builder.ts";
import { lowerNetwork } from "./onnx_network.ts";
import { appendPostprocess, type OnnxNmsOptions } from "./onnx_post.ts";
import { writeChecked } from "./checked_write.ts";

export { ONNX_OPSET } from "./onnx_builder.ts";

/** Options of {@link serializeOnnx}. */
export interface OnnxExportOptions {
  /** Append `NonMaxSuppression` (output `selected`); `true` takes the config's thresholds. */
  nms?: boolean | OnnxNmsOptions;
  /** Free-text provenance stored as `source` metadata. */
  source?: string;
}

/** The metadata every export carries (all values strings, as ONNX wants). */
export function onnxMetadataProps(cfg: ModelConfig, priors: Float32Array): Record<string, string> {
  const [h, w] = cfg.imageSize;
  const pre = cfg.preprocess;
  return {
    model: cfg.name,
    arch: cfg.arch,
    classes: JSON.stringify(["background", ...cfg.classes]),
    num_priors: String(priors.length / 4),
    prior_hash: priorsHash(priors),
    input_layout: "NCHW",
    input_size: JSON.stringify([h, w]),
    channel_order: "RGB",
    mean: JSON.stringify(pre.mean),
    std: JSON.stringify(pre.std),
    resize: pre.resize === "cv2"
      ? `cv2.resize(img, (${w}, ${h}), interpolation=cv2.INTER_LINEAR) on uint8, aspect not kept`
      : pre.resize,
    preprocess: JSON.stringify({
      size: [h, w],
      mean: pre.mean,
      std: pre.std,
      channelOrder: "RGB",
      resize: pre.resize,
      formula: "(pixel - mean) / std",
    }),
    outputs: "loc [B,P,4] (dx,dy,dw,dh); logits [B,P,C]; boxes [B,P,4] x1,y1,x2,y2 " +
      "normalized 0..1, not clipped; scores [B,P,C] softmax, column 0 background",
    variances: JSON.stringify(cfg.variances),
    postprocess: JSON.stringify(cfg.postprocess),
    config: JSON.stringify(cfg),
  };
}

/**
 * Serializes a network to ONNX bytes: `graph` (the layer graph), `sd` (its PyTorch-layout
 * state dict) and `cfg` (config: priors, variances, classes, preprocessing).
 *
 * @throws {RangeError} when the graph and the state dict or config disagree.
 */
export function serializeOnnx(
  graph: NetworkGraph,
  sd: StateDict,
  cfg: ModelConfig,
  opts: OnnxExportOptions = {},
): Uint8Array {
  const priors = generatePriors(cfg); // [P, 4] cxcywh
  const p = priors.length / 4, c = numClasses(cfg);
  const [h, w] = cfg.imageSize;
  if (graph.imageSize[0] !== h || graph.imageSize[1] !== w) {
    throw new RangeError(
      `Cannot export to ONNX: the graph takes ${graph.imageSize.join("×")}, the config ${h}×${w}`,
    );
  }
  const b = new OnnxGraphBuilder();
  b.fresh("images");
  const raw = lowerNetwork(b, graph, sd, "images");
  const loc = b.node("Identity", [raw.loc], {}, { outputs: ["loc"] });
  const logits = b.node("Identity", [raw.logits], {}, { outputs: ["logits"] });
  const nms = opts.nms === true ? {} : opts.nms || undefined;
  const post = appendPostprocess(b, { loc, logits }, cfg, priors, nms);
  const outputs = [
    floatValueInfo(loc, ["batch", p, 4], "box offsets (dx, dy, dw, dh) against the priors"),
    floatValueInfo(logits, ["batch", p, c], "class logits, column 0 background"),
    floatValueInfo(post.boxes, ["batch", p, 4], "decoded boxes x1, y1, x2, y2, normalized"),
    floatValueInfo(post.scores, ["batch", p, c], "softmax class probabilities"),
  ];
  if (post.selected) {
    outputs.push(
      int64ValueInfo(post.selected, ["selected", 3], "NMS picks: (image, label, prior)"),
    );
  }
  const meta = {
    ...onnxMetadataProps(cfg, priors),
    ...(opts.source ? { source: opts.source } : {}),
  };
  return b.encode({
    name: cfg.name,
    inputs: [floatValueInfo("images", ["batch", 3, h, w], "normalized RGB images")],
    outputs,
    docString: `SSD ${cfg.name} (${cfg.arch}), exported by ssd export`,
    metadata: meta,
  });
}

/** Largest |a − b| over two equally long arrays (NaN if any element is NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new TypeError(`Cannot compare outputs: ${a.length} values vs ${b.length}`);
  }
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? NaN : d;
    if (Number.isNaN(m)) return NaN;
  }
  return m;
}

/**
 * `batch` sample images of the config's size as the network sees them (NHWC, normalized): a
 * smooth colour ramp with seeded noise, from `makeRng(seed)`. Pixels go through
 * `normalizeRgb`, so every model gets inputs in its own range.
 */
export function sampleInput(cfg: ModelConfig, batch: number, seed = 0): Float32Array {
  const [h, w] = cfg.imageSize;
  const rng = makeRng(seed);
  const out = new Float32Array(batch * h * w * 3);
  for (let b = 0; b < batch; b++) {
    const data = new Uint8Array(h * w * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const ramp = [255 * x / w, 255 * y / h, 255 * (1 - x / w) * (b % 2)];
        for (let k = 0; k < 3; k++) {
          data[3 * (y * w + x) + k] = Math.max(0, Math.min(255, ramp[k] + 96 * (rng() - 0.5)));
        }
      }
    }
    out.set(normalizeRgb({ width: w, height: h, data }, cfg.preprocess), b * h * w * 3);
  }
  return out;
}

/** Names of the checked outputs. */
type Checked = "loc" | "logits" | "boxes" | "scores";

/**
 * How the written model compared on the sample images: per output the largest |Δ| and the
 * scale it is judged at, max(1, max |reference|); an output passes when |Δ| ≤ tolerance·scale.
 */
export interface OnnxCheck {
  batch: number;
  tolerance: number;
  maxAbsDiff: Record<Checked, number>;
  scale: Record<Checked, number>;
}

/** Options of {@link writeOnnx}. */
export interface WriteOnnxOptions extends OnnxExportOptions {
  /** The layer graph to write (default: `model.graph`; another one is for testing the check). */
  graph?: NetworkGraph;
  /** Largest |Δ| allowed, times max(1, max |reference|) of the output. Default 1e-4. */
  tolerance?: number;
  /** Sample images in the check (default 2: the batch dimension is exercised). */
  checkBatch?: number;
}

/** Our decode and softmax of raw outputs `[B, P, 4]`, `[B, P, C]`, as tfjs computes them. */
function referencePost(
  cfg: ModelConfig,
  loc: Float32Array,
  logits: Float32Array,
  batch: number,
): [Float32Array, Float32Array] {
  return tf.tidy(() => {
    const priors = generatePriors(cfg);
    const p = priors.length / 4, c = logits.length / (batch * p);
    const clampLog = cfg.postprocess.clampDecode === false ? Infinity : undefined;
    const boxes = decodeBoxes(tf.tensor3d(loc, [batch, p, 4]), tf.tensor2d(priors, [p, 4]), {
      variances: cfg.variances,
      clampLog,
    });
    const scores = tf.softmax(tf.tensor3d(logits, [batch, p, c]));
    return [boxes.dataSync() as Float32Array, scores.dataSync() as Float32Array];
  });
}

/** Largest |value| of an array (0 for an empty one). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Exports `model` to `path` as ONNX and checks it: onnxruntime runs the written file on sample
 * images; its raw outputs (`loc`, `logits`) must match the tfjs model's `predict`, and its
 * decoded ones (`boxes`, `scores`) our `decodeBoxes` and softmax of those raw outputs, each
 * within `tolerance` (times the output's magnitude when above 1: float32 rounding grows with
 * it). Only then is the file renamed into place; otherwise nothing is left at `path`.
 *
 * @throws {FileError} naming `path` when it cannot be written or the check fails.
 */
export async function writeOnnx(
  model: SsdModel,
  path: string,
  opts: WriteOnnxOptions = {},
): Promise<{ bytes: number; check: OnnxCheck }> {
  const cfg = model.config;
  await checkWritableFile(path); // before any work
  const bytes = serializeOnnx(opts.graph ?? model.graph, model.stateDict(), cfg, opts);
  const tolerance = opts.tolerance ?? 1e-4;
  const batch = opts.checkBatch ?? 2;
  const images = sampleInput(cfg, batch);
  const want = await tfjsEngine(model, { owned: false }).predict(images, batch);
  let check: OnnxCheck | undefined;
  await writeChecked(path, bytes, async (tmp) => {
    const engine = await loadOnnxEngine(tmp);
    try {
      const got = await engine.run(images, batch, ["loc", "logits", "boxes", "scores"]);
      const [loc, logits, boxes, scores] = [got.loc, got.logits, got.boxes, got.scores].map((o) =>
        o.data as Float32Array
      );
      const [wantBoxes, wantScores] = referencePost(cfg, loc, logits, batch);
      const pairs: Record<Checked, [Float32Array, Float32Array]> = {
        loc: [loc, want.locPred],
        logits: [logits, want.clsLogits],
        boxes: [boxes, wantBoxes],
        scores: [scores, wantScores],
      };
      const entries = Object.entries(pairs) as [Checked, [Float32Array, Float32Array]][];
      const per = (f: (got: Float32Array, want: Float32Array) => number) =>
        Object.fromEntries(entries.map(([k, [x, y]]) => [k, f(x, y)])) as Record<Checked, number>;
      check = {
        batch,
        tolerance,
        maxAbsDiff: per(maxAbsDiff),
        scale: per((_, y) => Math.max(1, maxAbs(y))),
      };
      const c = check;
      const bad = entries.filter(([k]) => !(c.maxAbsDiff[k] <= tolerance * c.scale[k]));
      if (bad.length > 0) {
        throw new FileError(
          path,
          `the ONNX model disagrees with the tfjs model: max |Δ| ${
            bad.map(([k]) => `${k} ${c.maxAbsDiff[k].toExponential(2)}`).join(", ")
          } > ${tolerance}${
            bad.some(([k]) => c.scale[k] > 1) ? " × output magnitude" : ""
          }; not written`,
        );
      }
    } finally {
      await engine.dispose();
    }
  }, { suffix: ".onnx" });
  return { bytes: bytes.length, check: check! };
}
