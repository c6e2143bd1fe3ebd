/**
 * Model configurations: the network input, the default boxes (priors) of every source feature
 * map, the class list, and the pre- and post-processing that go with the weights.
 *
 * A config is data; models, priors, detection and training take one rather than defining
 * their own. Each preset's fields say where their values come from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "./config.ts";
 * const cfg = getConfig("ssd300");
 * assert.deepEqual(cfg.imageSize, [300, 300]);
 * assert.equal(cfg.priors.layers.length, 6);
 * assert.equal(cfg.classes.length, 20);
 * ```
 */
import { COCO_91_CLASSES, FACE_CLASSES, SYNTH_CLASSES, VOC_CLASSES } from "./classes.ts";
import { UsageError } from "./errors.ts";

/** The network families `lib/model/` builds. */
export type Arch = "vgg16" | "mobilenet_v3_large" | "tiny" | "ultraface_slim" | "ultraface_rfb";

/**
 * How the default boxes of one cell are made, in the order the head predicts them.
 * - `ssd`: the paper's rule as Caffe and torchvision implement it: a box of scale `scale`,
 *   one of scale √(scale·nextScale), then for each aspect ratio `a` the pair
 *   (scale·√a, scale/√a) and (scale/√a, scale·√a). Scales are fractions of the image side.
 * - `sizes`: square boxes of the given pixel sizes (UltraFace's `min_boxes`), normalized by the
 *   image width and height separately.
 */
export type AnchorRule =
  | { kind: "ssd"; scale: number; nextScale: number; aspectRatios: number[] }
  | { kind: "sizes"; sizesPx: number[] };

/** The default boxes of one source feature map. */
export interface PriorLayer {
  /** `[H, W]` of the feature map. */
  featureSize: [number, number];
  /**
   * `[sy, sx]` in input pixels between cell centres: cx = (j + 0.5)·sx / imageW. Absent: the
   * paper's (j + 0.5)/W, i.e. imageSize / featureSize.
   */
  stepPx?: [number, number];
  /** How the default boxes of each cell are made. */
  anchors: AnchorRule;
}

/** Resizing and normalization of the input: x = (pixel − mean) / std, RGB order. */
export interface Preprocess {
  /** Per-channel mean in 0…255 units. */
  mean: [number, number, number];
  /** Per-channel divisor in 0…255 units. */
  std: [number, number, number];
  /** `cv2`: OpenCV INTER_LINEAR on uint8, bit-exact (what UltraFace and most SSD ports use). */
  resize: "cv2";
}

/** Detection post-processing (torchvision `postprocess_detections` semantics). */
export interface Postprocess {
  /** Keep class scores strictly above this. */
  scoreThreshold: number;
  /** Per-class NMS IoU threshold (suppress IoU > this). */
  nmsIou: number;
  /** Candidates per class kept, by score, before NMS. */
  topKPerClass: number;
  /** Detections per image after NMS, by score. */
  maxDetections: number;
  /** Clip decoded boxes to the image before NMS (torchvision: yes; UltraFace: no). */
  clipBoxes: boolean;
  /** Added to the NMS IoU denominator: UltraFace's `iou_of` adds 1e-5; torchvision 0 (absent). */
  iouEps?: number;
  /**
   * Clamp the decoded dw, dh at log(1000/16) as torchvision's `BoxCoder` does (default true);
   * UltraFace decodes without a clamp.
   */
  clampDecode?: boolean;
}

/** Everything that fixes a model's inputs and outputs. */
export interface ModelConfig {
  /** The preset's name (`ssd300`, `face-slim-320`), shown in messages and saved with weights. */
  name: string;
  /** The network family that builds it. */
  arch: Arch;
  /** Network input `[H, W]`. */
  imageSize: [number, number];
  /** Class names without background; the model predicts `classes.length + 1` scores (0 = background). */
  classes: string[];
  /** The default boxes: one layer per source feature map, in the head's order (largest first). */
  priors: {
    layers: PriorLayer[];
    /**
     * Clamp the widths and heights of the center-form priors to [0, 1] (torchvision
     * `clip=True`; UltraFace clamps all four values, which changes nothing more for its priors);
     * Caffe: false. Centers are never clamped: torchvision's SSD300 has centers at 1.0133.
     */
    clip: boolean;
  };
  /** Box coding variances `[center, size]`: 0.1, 0.2 (= torchvision BoxCoder weights 10, 10, 5, 5). */
  variances: [number, number];
  /** How an image becomes the network input. */
  preprocess: Preprocess;
  /** Detection defaults: thresholds, NMS and box clipping. */
  postprocess: Postprocess;
}

/** Builds `ssd` anchor layers from parallel per-layer lists (scales has one more entry). */
function ssdLayers(
  featureSizes: number[],
  scales: number[],
  aspectRatios: number[][],
  steps?: number[],
): PriorLayer[] {
  return featureSizes.map((f, k) => ({
    featureSize: [f, f] as [number, number],
    ...(steps ? { stepPx: [steps[k], steps[k]] as [number, number] } : {}),
    anchors: {
      kind: "ssd" as const,
      scale: scales[k],
      nextScale: scales[k + 1],
      aspectRatios: aspectRatios[k],
    },
  }));
}

const VGG_MEAN: [number, number, number] = [123, 117, 104]; // torchvision's [0.48235, 0.45882, 0.40784]·255, Caffe's BGR mean reversed
const UNIT_STD: [number, number, number] = [1, 1, 1]; // torchvision std 1/255 on a 0…1 image = raw pixels
const VOC_POST: Postprocess = {
  scoreThreshold: 0.01,
  nmsIou: 0.45,
  topKPerClass: 400,
  maxDetections: 200,
  clipBoxes: true,
}; // SSD paper §3 / torchvision ssd300_vgg16

// The released Caffe SSD300 (VOC): min sizes 30, 60, 111, 162, 213, 264 px, max sizes 60 … 315.
const SSD300_SIZES = [30, 60, 111, 162, 213, 264, 315];
// The released Caffe SSD512 (VOC): min ratio 15 %, max 90 %, first layer 7 %.
const SSD512_SIZES = [35.84, 76.8, 153.6, 230.4, 307.2, 384.0, 460.8, 537.6];

const PRESETS: Record<string, ModelConfig> = {
  ssd300: {
    name: "ssd300",
    arch: "vgg16",
    imageSize: [300, 300],
    classes: [...VOC_CLASSES],
    priors: {
      layers: ssdLayers(
        [38, 19, 10, 5, 3, 1],
        SSD300_SIZES.map((s) => s / 300),
        [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
        [8, 16, 32, 64, 100, 300],
      ),
      clip: false, // Caffe PriorBox default; Liu found it slightly better
    },
    variances: [0.1, 0.2],
    preprocess: { mean: VGG_MEAN, std: UNIT_STD, resize: "cv2" },
    postprocess: VOC_POST,
  },
  ssd512: {
    name: "ssd512",
    arch: "vgg16",
    imageSize: [512, 512],
    classes: [...VOC_CLASSES],
    priors: {
      layers: ssdLayers(
        [64, 32, 16, 8, 4, 2, 1],
        SSD512_SIZES.map((s) => s / 512),
        [[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]],
        [8, 16, 32, 64, 128, 256, 512],
      ),
      clip: false,
    },
    variances: [0.1, 0.2],
    preprocess: { mean: VGG_MEAN, std: UNIT_STD, resize: "cv2" },
    postprocess: VOC_POST,
  },
  "ssd300-coco": {
    name: "ssd300-coco",
    arch: "vgg16",
    imageSize: [300, 300],
    classes: COCO_91_CLASSES.slice(1), // torchvision's 91 outputs: label = COCO category id
    priors: {
      layers: ssdLayers(
        [38, 19, 10, 5, 3, 1],
        [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], // torchvision ssd300_vgg16
        [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
        [8, 16, 32, 64, 100, 300],
      ),
      clip: true, // torchvision DefaultBoxGenerator(clip=True): clamps the center form
    },
    variances: [0.1, 0.2],
    preprocess: { mean: VGG_MEAN, std: UNIT_STD, resize: "cv2" },
    postprocess: VOC_POST,
  },
  ssdlite320: {
    name: "ssdlite320",
    arch: "mobilenet_v3_large",
    imageSize: [320, 320],
    classes: COCO_91_CLASSES.slice(1),
    priors: {
      // torchvision ssdlite320_mobilenet_v3_large: DefaultBoxGenerator([[2, 3]] * 6,
      // min_ratio=0.2, max_ratio=0.95), no steps, scales linear then 1.0 appended.
      layers: ssdLayers(
        [20, 10, 5, 3, 2, 1],
        [...Array.from({ length: 6 }, (_, k) => 0.2 + (0.95 - 0.2) * k / 5), 1.0],
        Array.from({ length: 6 }, () => [2, 3]),
      ),
      clip: true,
    },
    variances: [0.1, 0.2],
    preprocess: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], resize: "cv2" },
    postprocess: {
      scoreThreshold: 0.001,
      nmsIou: 0.55,
      topKPerClass: 300,
      maxDetections: 300,
      clipBoxes: true,
    },
  },
  tiny: {
    name: "tiny",
    arch: "tiny",
    imageSize: [160, 160], // small enough to train on a CPU in minutes
    classes: [...SYNTH_CLASSES],
    priors: {
      // 5 maps (strides 8, 16, 32, 53⅓, 160): 20²·4 + 10²·6 + 5²·6 + 3²·4 + 1²·4 = 2390 priors.
      layers: ssdLayers(
        [20, 10, 5, 3, 1],
        [0.08, 0.2, 0.38, 0.56, 0.76, 0.96], // synthetic shapes span ~6 %…80 % of the side
        [[2], [2, 3], [2, 3], [2], [2]],
      ),
      clip: true,
    },
    variances: [0.1, 0.2],
    preprocess: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], resize: "cv2" },
    postprocess: {
      scoreThreshold: 0.3,
      nmsIou: 0.45,
      topKPerClass: 200,
      maxDetections: 100,
      clipBoxes: true,
    },
  },
};

// UltraFace (Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB, fd_config.define_img_size(320)):
// 320×240 input, 4 maps, shrinkage x 8, 16, 32, 64 and y 8, 16, 30, 60, min_boxes per map.
const ULTRAFACE_LAYERS: PriorLayer[] = [
  { featureSize: [30, 40], stepPx: [8, 8], anchors: { kind: "sizes", sizesPx: [10, 16, 24] } },
  { featureSize: [15, 20], stepPx: [16, 16], anchors: { kind: "sizes", sizesPx: [32, 48] } },
  { featureSize: [8, 10], stepPx: [30, 32], anchors: { kind: "sizes", sizesPx: [64, 96] } },
  { featureSize: [4, 5], stepPx: [60, 64], anchors: { kind: "sizes", sizesPx: [128, 192, 256] } },
];

for (
  const [name, arch] of [["face-slim-320", "ultraface_slim"], ["face-rfb-320", "ultraface_rfb"]]
) {
  PRESETS[name] = {
    name,
    arch: arch as Arch,
    imageSize: [240, 320],
    classes: [...FACE_CLASSES],
    priors: { layers: ULTRAFACE_LAYERS, clip: true }, // torch.clamp(priors, 0, 1)
    variances: [0.1, 0.2],
    preprocess: { mean: [127, 127, 127], std: [128, 128, 128], resize: "cv2" }, // (u8 − 127) / 128
    // detect_imgs.py: prob > 0.7 (the ONNX/Caffe demos' default), hard NMS 0.3, 1500 candidates, top 750.
    postprocess: {
      scoreThreshold: 0.7,
      nmsIou: 0.3,
      topKPerClass: 1500,
      maxDetections: 750,
      clipBoxes: false,
      clampDecode: false, // convert_locations_to_boxes: exp without a clamp
      iouEps: 1e-5, // box_utils.iou_of: inter / (area_a + area_b − inter + 1e-5)
    },
  };
}

/** Names of the preset configs, in a stable order. */
export const MODEL_NAMES: readonly string[] = Object.keys(PRESETS);

/**
 * The preset config of a model name (a deep copy: callers may change it).
 *
 * @throws {UsageError} for an unknown name, listing the known ones.
 */
export function getConfig(name: string): ModelConfig {
  const cfg = PRESETS[name];
  if (!cfg) {
    throw new UsageError(`unknown model "${name}"; known models: ${MODEL_NAMES.join(", ")}`);
  }
  return structuredClone(cfg);
}

/** Number of scores the model predicts per prior: the classes plus background. */
export function numClasses(cfg: ModelConfig): number {
  return cfg.classes.length + 1;
}

/** Default boxes per cell of each layer, in head order. */
export function boxesPerCell(cfg: ModelConfig): number[] {
  return cfg.priors.layers.map((l) =>
    l.anchors.kind === "ssd" ? 2 + 2 * l.anchors.aspectRatios.length : l.anchors.sizesPx.length
  );
}
