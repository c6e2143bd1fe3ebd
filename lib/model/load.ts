/**
 * `--model` resolution: a shipped name (`face-slim-320` → `weights/face-slim-320.safetensors`
 * beside this library), a `.safetensors` file (its metadata names the config), or a PyTorch
 * `.pth` state dict (the architecture inferred from its keys and shapes, or given as `arch`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { loadModel } from "./load.ts";
 * await tf.setBackend("cpu");
 * const model = await loadModel("face-slim-320");
 * assert.equal(model.config.arch, "ultraface_slim");
 * assert.equal(model.numParams(), 260188);
 * model.dispose();
 * ```
 *
 * @module
 */
import { getConfig, MODEL_NAMES, type ModelConfig, numClasses } from "../config.ts";
import { FileError, UsageError } from "../errors.ts";
import type { StateDict } from "../io/state_dict.ts";
import { buildModel, type SsdModel } from "./ssd.ts";
import { generatePriors, priorsHash } from "../priors.ts";

/** Where the shipped weights live: `<repo>/weights/`, relative to this file. */
const WEIGHTS_DIR = new URL("../../weights/", import.meta.url);

/** The path of a shipped model's weights (it may not exist). */
export function shippedWeightsPath(name: string): string {
  return decodeURIComponent(new URL(`${name}.safetensors`, WEIGHTS_DIR).pathname);
}

/** Names of the shipped weight files (`weights/*.safetensors`), sorted. */
export function shippedModelNames(): string[] {
  try {
    const dir = decodeURIComponent(WEIGHTS_DIR.pathname);
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.endsWith(".safetensors"))
      .map((e) => e.name.slice(0, -".safetensors".length))
      .sort();
  } catch {
    return [];
  }
}

/** `cfg` with `classes` resized to `c − 1` generic names when the weights predict `c` scores. */
function withClassCount(cfg: ModelConfig, c: number): ModelConfig {
  if (numClasses(cfg) === c || c < 2) return cfg;
  return { ...cfg, classes: Array.from({ length: c - 1 }, (_, i) => `class${i + 1}`) };
}

/** First dimension of a tensor of the state dict, or undefined. */
function rows(sd: StateDict, key: string): number | undefined {
  return sd.get(key)?.shape[0];
}

/**
 * The config a PyTorch state dict belongs to, from its keys and shapes: torchvision SSD300 /
 * SSD512 on VGG16 (91 classes → `ssd300-coco`, else the VOC priors), SSDLite320, UltraFace
 * slim / RFB, our tiny model.
 *
 * @throws {FileError} when no known architecture matches.
 */
export function inferConfig(sd: StateDict, file: string): ModelConfig {
  const has = (k: string) => sd.has(k);
  if (has("backbone.scale_weight")) {
    const name = has("backbone.extra.5.0.weight") ? "ssd512" : "ssd300";
    const c = (rows(sd, "head.classification_head.module_list.0.weight") ?? 0) / 4;
    if (name === "ssd300" && c === 91) return getConfig("ssd300-coco");
    return withClassCount(getConfig(name), c);
  }
  if (has("backbone.features.1.3.0.weight") && has("backbone.extra.3.2.0.weight")) {
    const c = (rows(sd, "head.classification_head.module_list.0.1.weight") ?? 0) / 6;
    return withClassCount(getConfig("ssdlite320"), c);
  }
  if (has("base_net.0.0.weight") && has("classification_headers.3.weight")) {
    const name = has("base_net.7.branch0.0.conv.weight") ? "face-rfb-320" : "face-slim-320";
    const c = (rows(sd, "classification_headers.3.weight") ?? 0) / 3;
    return withClassCount(getConfig(name), c);
  }
  if (has("backbone.layers.0.conv.weight")) {
    const c = (rows(sd, "head.classification_head.module_list.0.weight") ?? 0) / 4;
    return withClassCount(getConfig("tiny"), c);
  }
  const first = [...sd.keys()].slice(0, 3).join(", ");
  throw new FileError(
    file,
    `cannot tell the architecture from its keys (${first}, …); pass --arch with one of ${
      MODEL_NAMES.join(", ")
    }`,
  );
}

/** The config named by safetensors metadata: `config` (JSON), else `model`, else `arch`. */
function configFromMetadata(meta: Record<string, string>, file: string): ModelConfig | undefined {
  let cfg: ModelConfig | undefined;
  if (meta.config) {
    try {
      cfg = JSON.parse(meta.config) as ModelConfig;
    } catch {
      throw new FileError(file, 'metadata "config" is not valid JSON');
    }
    if (!cfg?.arch || !Array.isArray(cfg.imageSize) || !Array.isArray(cfg.priors?.layers)) {
      throw new FileError(
        file,
        'metadata "config" is not a model config (arch, imageSize, priors)',
      );
    }
  } else if (meta.model && MODEL_NAMES.includes(meta.model)) {
    cfg = getConfig(meta.model);
  } else if (meta.arch) {
    const preset = MODEL_NAMES.find((n) => getConfig(n).arch === meta.arch);
    cfg = preset ? getConfig(preset) : undefined;
  }
  if (cfg && meta.classes) {
    try {
      const classes = JSON.parse(meta.classes) as string[];
      const bg = /^(__)?background(__)?$/i.test(classes[0] ?? "");
      cfg = { ...cfg, classes: bg ? classes.slice(1) : classes };
    } catch {
      throw new FileError(file, 'metadata "classes" is not a JSON list of names');
    }
  }
  return cfg;
}

/** Builds the model of `cfg` and loads `sd` into it; load errors become FileErrors. */
function modelWith(cfg: ModelConfig, sd: StateDict, file: string): SsdModel {
  const model = buildModel(cfg);
  try {
    model.loadStateDict(sd);
  } catch (err) {
    model.dispose();
    throw new FileError(file, (err as Error).message);
  }
  return model;
}

/** Strips the `module.` prefix `nn.DataParallel` puts on every key. */
function stripDataParallel(sd: StateDict): StateDict {
  if (![...sd.keys()].every((k) => k.startsWith("module."))) return sd;
  return new Map([...sd].map(([k, v]) => [k.slice("module.".length), v]));
}

/**
 * Refuses weights whose metadata names another prior set than the config makes (the classic
 * 8096-vs-8732 mismatch between a training and an export config).
 */
function checkPriorHash(cfg: ModelConfig, expected: string | undefined, file: string): void {
  if (expected === undefined) return;
  const priors = generatePriors(cfg);
  const actual = priorsHash(priors);
  if (actual !== expected) {
    throw new FileError(
      file,
      `the weights were made for priors ${expected}, but config ${cfg.name} gives ${
        priors.length / 4
      } priors with hash ${actual}; pass the --arch they were trained with`,
    );
  }
}

/** The config `--arch` names. */
function archConfig(arch: string): ModelConfig {
  if (!MODEL_NAMES.includes(arch)) {
    throw new UsageError(`--arch: unknown config "${arch}"; known: ${MODEL_NAMES.join(", ")}`);
  }
  return getConfig(arch);
}

/** A `--model` value resolved: its config, and its weights when it names a file. */
interface ResolvedSpec {
  cfg: ModelConfig;
  /** The weights, when `spec` is a file (or a shipped name, whose file is read). */
  sd?: StateDict;
  file?: string;
}

async function resolveSpec(
  spec: string,
  opts: { arch?: string },
  needWeights: boolean,
): Promise<ResolvedSpec> {
  const lower = spec.toLowerCase();
  if (lower.endsWith(".safetensors")) {
    const { readSafetensors } = await import("../io/safetensors.ts");
    const { tensors, metadata } = await readSafetensors(spec);
    // a training checkpoint also holds the optimizer's buffers: not part of the model
    const sd = stripDataParallel(
      new Map([...tensors].filter(([k]) => !k.startsWith("optimizer.momentum_buffer."))),
    );
    const cfg = (opts.arch ? archConfig(opts.arch) : configFromMetadata(metadata, spec)) ??
      inferConfig(sd, spec);
    checkPriorHash(cfg, metadata.prior_hash, spec);
    return { cfg, sd, file: spec };
  }
  if (lower.endsWith(".pth") || lower.endsWith(".pt")) {
    const { readTorchStateDict } = await import("../io/torch.ts");
    const sd = stripDataParallel(await readTorchStateDict(spec));
    return { cfg: opts.arch ? archConfig(opts.arch) : inferConfig(sd, spec), sd, file: spec };
  }
  if (MODEL_NAMES.includes(spec)) {
    if (opts.arch !== undefined && opts.arch !== spec) {
      throw new UsageError(
        `--arch ${opts.arch} does not apply to the preset "${spec}"; it says which config a ` +
          ".pth or .safetensors file follows",
      );
    }
    if (!needWeights) return { cfg: getConfig(spec) };
    const path = shippedWeightsPath(spec);
    try {
      await Deno.stat(path);
    } catch {
      throw new UsageError(
        `model "${spec}" has no shipped weights; pass a trained .safetensors or a .pth file instead`,
      );
    }
    return await resolveSpec(path, { arch: spec }, true);
  }
  // a shipped model trained here (weights/<name>.safetensors, its config in the metadata)
  const shipped = shippedWeightsPath(spec);
  if (/^[\w.-]+$/.test(spec) && (await Deno.stat(shipped).catch(() => null))?.isFile) {
    return await resolveSpec(shipped, opts, needWeights);
  }
  const known = [...MODEL_NAMES, ...shippedModelNames().filter((n) => !MODEL_NAMES.includes(n))];
  throw new UsageError(
    `unknown model "${spec}"; pass one of ${known.join(", ")}, a .safetensors or a .pth file`,
  );
}

/**
 * The config a `--model` value stands for, without building the network: a preset name's
 * config (weights or not), a `.safetensors` file's metadata, a `.pth` file's inferred
 * architecture (or `opts.arch`).
 *
 * @throws {UsageError} for an unknown name; {FileError} for an unreadable or unknown file.
 */
export async function resolveConfig(
  spec: string,
  opts: { arch?: string } = {},
): Promise<ModelConfig> {
  return (await resolveSpec(spec, opts, false)).cfg;
}

/**
 * Loads a model with its weights.
 *
 * - `spec` a preset name: its shipped weights (`weights/<name>.safetensors`);
 * - `spec` ending in `.safetensors`: the config from the metadata (`config`, `model` or
 *   `arch`; `opts.arch`, a config name, overrides);
 * - `spec` ending in `.pth` / `.pt`: the config from `opts.arch`, else inferred from the keys.
 *
 * @throws {UsageError} for an unknown name (listing the known ones) or a preset with no
 *   shipped weights (asking for a .pth or .safetensors file).
 * @throws {FileError} for an unreadable, malformed or mismatched weight file.
 */
export async function loadModel(spec: string, opts: { arch?: string } = {}): Promise<SsdModel> {
  const { cfg, sd, file } = await resolveSpec(spec, opts, true);
  return modelWith(cfg, sd!, file!);
}
