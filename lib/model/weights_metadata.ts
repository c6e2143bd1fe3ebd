/**
 * The safetensors metadata every weights file of this toolkit carries (shipped weights,
 * training checkpoints, `ssd export --format safetensors`), from which `--model FILE` rebuilds
 * the model: the config, the class names, the prior hash that `loadModel` checks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "../config.ts";
 * import { weightsMetadata } from "./weights_metadata.ts";
 * const meta = weightsMetadata(getConfig("tiny"));
 * assert.equal(meta.arch, "tiny");
 * assert.deepEqual(JSON.parse(meta.classes)[0], "background");
 * ```
 *
 * @module
 */
import type { ModelConfig } from "../config.ts";
import { generatePriors, priorsHash } from "../priors.ts";

/** The layout note of a model state dict saved by this toolkit. */
const LAYOUT = "pytorch state dict names, conv weights OIHW, float32";

/**
 * `format`, `model`, `arch`, `config` (JSON), `classes` (JSON, background first), `prior_hash`
 * and `layout` for a model of config `cfg`; `extra` entries are added (and may say more in
 * `layout`).
 */
export function weightsMetadata(
  cfg: ModelConfig,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    format: "pt",
    model: cfg.name,
    arch: cfg.arch,
    config: JSON.stringify(cfg),
    classes: JSON.stringify(["background", ...cfg.classes]),
    prior_hash: priorsHash(generatePriors(cfg)),
    layout: LAYOUT,
    ...extra,
  };
}
