/**
 * Where a training run starts: fresh weights, or weights to fine-tune from (`--init`) whose
 * classification heads are re-initialised when their classes are not the dataset's (another
 * count, or other names: a face detector's "face" logit is no "raccoon" logit) or, where some
 * classes are in both, rearranged by class name; and which parameters `--freeze` keeps fixed.
 *
 * @module
 */
import type { ModelConfig } from "../config.ts";
import type { StateDict, TensorData } from "../io/state_dict.ts";
import type { SsdModel } from "../model/ssd.ts";

/** Prefixes of the classification-head parameters (torchvision SSD/SSDlite/tiny, UltraFace). */
const CLASS_HEADS = ["head.classification_head.", "classification_headers."];

/**
 * Prefixes of the feature extractor `--freeze` keeps fixed: the pretrained base network, not
 * the extra layers or the heads.
 */
export function backbonePrefixes(cfg: ModelConfig): string[] {
  switch (cfg.arch) {
    case "ultraface_slim":
    case "ultraface_rfb":
      return ["base_net."];
    case "tiny":
      return ["backbone.layers."];
    default:
      return ["backbone.features.", "backbone.scale_weight"];
  }
}

/** What {@link loadInitWeights} did. */
export interface InitReport {
  loaded: number;
  /** Classification-head tensors left at their fresh initialisation. */
  reinitialized: string[];
  /**
   * With `classes` and new heads: the class-output tensors whose rows were carried over by class
   * name (background and the classes both lists name), the classes carried and the new ones.
   */
  remapped?: { tensors: string[]; kept: string[]; fresh: string[] };
}

/** Options of {@link loadInitWeights}. */
export interface InitOptions {
  /**
   * Re-initialise every classification-head tensor, also where the shapes agree: the start
   * weights were trained for other classes. Default false (only shapes that differ).
   */
  newHeads?: boolean;
  /**
   * The start weights' classes and the dataset's (without background). With new heads, when
   * some class is in both, the heads are kept and their class outputs rearranged by name: the
   * rows of background and of each class both name are carried over, a new class's rows start
   * fresh.
   */
  classes?: { from: readonly string[]; to: readonly string[] };
}

/**
 * Whether fine-tuning from weights trained for `from` onto a dataset of `to` needs new
 * classification heads: the class lists differ in length, names or order.
 */
export function classesDiffer(from: readonly string[], to: readonly string[]): boolean {
  return from.length !== to.length || from.some((name, i) => name !== to[i]);
}

/** Placeholder names that are no class (torchvision's COCO list holds "N/A" for unused ids). */
const NO_CLASS = new Set(["N/A", "__background__", "background"]);

/**
 * The class-output tensors among state-dict names: in each classification-head branch, the
 * weight and bias of its last layer (earlier layers of a branch do not depend on the classes).
 */
function classOutputs(names: Iterable<string>): Set<string> {
  const last = new Map<string, string>();
  for (const n of names) {
    const m =
      /^((?:head\.classification_head\.module_list|classification_headers)\.\d+\.)(.*)weight$/
        .exec(n);
    if (m) last.set(m[1], m[1] + m[2]);
  }
  return new Set([...last.values()].flatMap((p) => [`${p}weight`, `${p}bias`]));
}

/**
 * A class-output tensor for our classes: rows `a · (C + 1) + c` (anchor a, class c, background
 * 0) taken from `src` (`oldCols` columns) where `source[c]` gives the class's column there,
 * else from `fresh`. Undefined when the shapes do not split into the same anchors.
 */
function remapRows(
  src: TensorData,
  fresh: TensorData,
  source: number[],
  oldCols: number,
): TensorData | undefined {
  const cols = source.length;
  const anchors = fresh.shape[0] / cols;
  const row = fresh.shape.slice(1).reduce((a, b) => a * b, 1);
  if (
    !Number.isInteger(anchors) || src.shape[0] !== anchors * oldCols ||
    src.shape.slice(1).join() !== fresh.shape.slice(1).join() ||
    source.some((c) => c >= oldCols) || src.dtype !== "float32"
  ) return undefined;
  const data = (fresh.data as Float32Array).slice();
  for (let a = 0; a < anchors; a++) {
    source.forEach((c, k) => {
      if (c < 0) return;
      const from = (a * oldCols + c) * row;
      data.set((src.data as Float32Array).subarray(from, from + row), (a * cols + k) * row);
    });
  }
  return { dtype: "float32", shape: [...fresh.shape], data };
}

/**
 * Copies `sd` (a PyTorch-layout state dict of the same architecture) into `model`, except the
 * classification-head tensors whose shapes differ (another class count), or all of them with
 * `newHeads`: those keep the model's fresh initialisation, unless `classes` share a name (then
 * only the rows of new classes do; see {@link InitOptions.classes}).
 *
 * @throws {RangeError} when any other tensor is missing or has another shape (not the same
 *   architecture).
 */
export function loadInitWeights(
  model: SsdModel,
  sd: StateDict,
  options: InitOptions = {},
): InitReport {
  const ours = model.stateDict();
  const { from, to } = options.classes ?? { from: [], to: [] };
  // Column of each of our classes (background first) in the start weights' heads, or -1.
  const source = [0, ...to.map((n) => (NO_CLASS.has(n) ? -1 : from.indexOf(n)))].map((i, k) =>
    k === 0 ? 0 : i < 0 ? -1 : i + 1
  );
  const remap = source.slice(1).some((c) => c > 0);
  const outputs = remap ? classOutputs(ours.keys()) : new Set<string>();
  const reinitialized: string[] = [];
  const remapped: string[] = [];
  const kept: StateDict = new Map();
  for (const [name, t] of sd) {
    const mine = ours.get(name);
    const isHead = CLASS_HEADS.some((p) => name.startsWith(p));
    const reshaped = mine !== undefined && mine.shape.join() !== t.shape.join();
    if (!isHead || !mine || !(options.newHeads || reshaped)) {
      kept.set(name, t);
    } else if (remap && outputs.has(name)) {
      const r = remapRows(t, mine, source, from.length + 1);
      if (r === undefined) reinitialized.push(name);
      else {
        kept.set(name, r);
        remapped.push(name);
      }
    } else if (remap && !reshaped) {
      kept.set(name, t); // a head layer before the class outputs
    } else {
      reinitialized.push(name);
    }
  }
  const missing = [...ours.keys()].filter((k) =>
    !kept.has(k) && !reinitialized.includes(k) && !k.endsWith("num_batches_tracked")
  );
  if (missing.length > 0) {
    throw new RangeError(
      `Cannot start from these weights: ${missing.length} tensors of ${model.config.name} are not in them (${
        missing.slice(0, 3).join(", ")
      }…); --init needs weights of the same architecture`,
    );
  }
  model.loadStateDict(kept, { strict: false });
  const report: InitReport = { loaded: kept.size - remapped.length, reinitialized };
  if (remapped.length > 0) {
    report.remapped = {
      tensors: remapped,
      kept: to.filter((_, k) => source[k + 1] > 0),
      fresh: to.filter((_, k) => source[k + 1] < 0),
    };
  }
  return report;
}
