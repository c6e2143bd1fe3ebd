/**
 * Where a training run starts: fresh weights, or weights to fine-tune from (`--init`) whose
 * classification heads are re-initialised when their classes are not the dataset's (another
 * count, or other names: a face detector's "face" logit is no "raccoon" logit), and which
 * parameters `--freeze` keeps fixed.
 *
 * @module
 */
import type { ModelConfig } from "../config.ts";
import type { StateDict } from "../io/state_dict.ts";
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
}

/** Options of {@link loadInitWeights}. */
export interface InitOptions {
  /**
   * Re-initialise every classification-head tensor, also where the shapes agree: the start
   * weights were trained for other classes. Default false (only shapes that differ).
   */
  newHeads?: boolean;
}

/**
 * Whether fine-tuning from weights trained for `from` onto a dataset of `to` needs new
 * classification heads: the class lists differ in length, names or order.
 */
export function classesDiffer(from: readonly string[], to: readonly string[]): boolean {
  return from.length !== to.length || from.some((name, i) => name !== to[i]);
}

/**
 * Copies `sd` (a PyTorch-layout state dict of the same architecture) into `model`, except the
 * classification-head tensors whose shapes differ (another class count), or all of them with
 * `newHeads`: those keep the model's fresh initialisation.
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
  const reinitialized: string[] = [];
  const kept: StateDict = new Map();
  for (const [name, t] of sd) {
    const mine = ours.get(name);
    const isHead = CLASS_HEADS.some((p) => name.startsWith(p));
    const reshaped = mine !== undefined && mine.shape.join() !== t.shape.join();
    if (isHead && mine && (options.newHeads || reshaped)) reinitialized.push(name);
    else kept.set(name, t);
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
  return { loaded: kept.size, reinitialized };
}
