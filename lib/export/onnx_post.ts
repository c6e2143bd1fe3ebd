/**
 * The post-processing half of the ONNX export: the box decoding of `decodeBoxes` (variances,
 * the `exp` clamp, the priors as initializers), the softmax that turns logits into class
 * probabilities (as `postprocessDetections` does for every model, UltraFace included), and
 * optionally ONNX `NonMaxSuppression` per class.
 *
 * @module
 */
import { DECODE_CLAMP_LOG } from "../boxes.ts";
import type { ModelConfig } from "../config.ts";
import type { OnnxGraphBuilder } from "./onnx_builder.ts";
import type { NetworkOutputs } from "./onnx_network.ts";

/** Settings of the in-graph NMS (defaults: the config's post-processing). */
export interface OnnxNmsOptions {
  /** Suppress IoU > this. */
  iouThreshold?: number;
  /** Keep scores > this. */
  scoreThreshold?: number;
  /** Most boxes kept per class and image. */
  maxPerClass?: number;
}

/** The post-processing outputs' value names. */
export interface PostOutputs {
  boxes: string;
  scores: string;
  selected?: string;
}

/**
 * Appends decode and softmax (and NMS when `nms` is given) after the raw outputs; the final
 * values get the names `boxes`, `scores` (and `selected`).
 *
 * - `boxes [B, P, 4]` `xyxy` normalized, not clipped: cx = dx·v0·pw + pcx,
 *   w = exp(min(dw·v1, clamp))·pw, the float32 steps of `decodeBoxes`.
 * - `scores [B, P, C]` softmax over classes (column 0 background).
 * - `selected [N, 3]` int64 `(image, label, prior)`, label 1 … C − 1: ONNX NonMaxSuppression
 *   per class over the classes without background, on boxes clipped to [0, 1] when the config
 *   clips. Unlike the toolkit's post-processing it keeps up to `maxPerClass` boxes per class
 *   with no top-k before NMS and no cap per image: sort and cut `selected` by score after.
 *
 * @param priorsCxcywh `[P, 4]` flattened `cxcywh`, from `generatePriors(cfg)`
 */
export function appendPostprocess(
  b: OnnxGraphBuilder,
  raw: NetworkOutputs,
  cfg: ModelConfig,
  priorsCxcywh: Float32Array,
  nms?: OnnxNmsOptions,
): PostOutputs {
  const p = priorsCxcywh.length / 4;
  const center = new Float32Array(2 * p), size = new Float32Array(2 * p);
  for (let i = 0; i < p; i++) {
    center.set(priorsCxcywh.subarray(4 * i, 4 * i + 2), 2 * i);
    size.set(priorsCxcywh.subarray(4 * i + 2, 4 * i + 4), 2 * i);
  }
  const priorCenter = b.initializer("priors.center", [p, 2], center); // [P, 2] cx, cy
  const priorSize = b.initializer("priors.size", [p, 2], size); // [P, 2] w, h
  const axis2 = b.int64("const.axis2", [1], [2]);
  const slice = (from: number, to: number) =>
    b.node("Slice", [
      raw.loc,
      b.int64("const.start", [1], [from]),
      b.int64("const.end", [1], [to]),
      axis2,
    ]);
  const dxy = slice(0, 2), dwh = slice(2, 4); // [B, P, 2] each
  const [v0, v1] = cfg.variances;
  const clampLog = cfg.postprocess.clampDecode === false ? Infinity : DECODE_CLAMP_LOG;
  const cxy = b.node("Add", [
    b.node("Mul", [b.node("Mul", [dxy, b.scalar("const.variance_center", v0, [])]), priorSize]),
    priorCenter,
  ]);
  let logWh = b.node("Mul", [dwh, b.scalar("const.variance_size", v1, [])]);
  if (Number.isFinite(clampLog)) {
    logWh = b.node("Min", [logWh, b.scalar("const.decode_clamp_log", clampLog, [])]);
  }
  const half = b.node("Mul", [
    b.node("Mul", [b.node("Exp", [logWh]), priorSize]),
    b.scalar("const.half", 0.5, []),
  ]);
  const boxes = b.node("Concat", [b.node("Sub", [cxy, half]), b.node("Add", [cxy, half])], {
    axis: 2,
  }, { outputs: ["boxes"] });
  const scores = b.node("Softmax", [raw.logits], { axis: 2 }, { outputs: ["scores"] });
  if (!nms) return { boxes, scores };

  const post = cfg.postprocess;
  const nmsBoxes = post.clipBoxes
    ? b.node("Clip", [boxes, b.scalar("const.box_min", 0, []), b.scalar("const.box_max", 1, [])])
    : boxes;
  // [B, P, C] → [B, C, P] → classes 1 … C − 1
  const byClass = b.node("Transpose", [scores], { perm: [0, 2, 1] });
  const c = cfg.classes.length + 1;
  const fg = b.node("Slice", [
    byClass,
    b.int64("const.class_start", [1], [1]),
    b.int64("const.class_end", [1], [c]),
    b.int64("const.axis1", [1], [1]),
  ]);
  const picked = b.node("NonMaxSuppression", [
    nmsBoxes,
    fg,
    b.int64("nms.max_per_class", [1], [nms.maxPerClass ?? post.topKPerClass]),
    b.scalar("nms.iou_threshold", nms.iouThreshold ?? post.nmsIou),
    b.scalar("nms.score_threshold", nms.scoreThreshold ?? post.scoreThreshold),
  ], { center_point_box: 0 }); // any two opposite corners; IoU is the same for xyxy
  // class index within the foreground slice → label
  const selected = b.node("Add", [picked, b.int64("const.label_offset", [3], [0, 1, 0])], {}, {
    outputs: ["selected"],
  });
  return { boxes, scores, selected };
}
