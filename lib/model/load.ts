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
import type { SsdModel } from "./ssd.ts";

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

/** The architectures `buildModel` knows, by config preset. */
const ARCHES: readonly string[] = [...new Set(MODEL_NAMES.map((n) => getConfig(n).arch))];

/**
 * Checks that a config read from a file has the fields the model builder, the priors and the
 * detector read, with usable values, so a hand-edited or foreign file fails here, naming
 * itself, and not deep inside the network code.
 */
function checkConfigShape(cfg: unknown, file: string): asserts cfg is ModelConfig {
  const bad = (what: string): never => {
    throw new FileError(file, `metadata "config" is not a model config: ${what}`);
  };
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) bad("not a JSON object");
  const c = cfg as Record<string, unknown>;
  if (typeof c.arch !== "string" || !ARCHES.includes(c.arch)) {
    bad(`unknown arch ${JSON.stringify(c.arch) ?? "(none)"}; known: ${ARCHES.join(", ")}`);
  }
  const positiveInts = (v: unknown, n: number) =>
    Array.isArray(v) && v.length === n && v.every((x) => Number.isInteger(x) && x > 0);
  if (!positiveInts(c.imageSize, 2)) bad("imageSize must be [H, W] of positive integers");
  const priors = c.priors as { layers?: unknown } | undefined;
  if (!Array.isArray(priors?.layers) || priors.layers.length === 0) {
    bad("priors.layers must be a non-empty list");
  }
  for (const [k, layer] of (priors!.layers as unknown[]).entries()) {
    const l = layer as { featureSize?: unknown; anchors?: { kind?: unknown } } | null;
    if (
      !positiveInts(l?.featureSize, 2) || !["ssd", "sizes"].includes(l?.anchors?.kind as string)
    ) {
      bad(`priors.layers[${k}] needs featureSize [H, W] and anchors of kind "ssd" or "sizes"`);
    }
  }
  if (!Array.isArray(c.classes) || !c.classes.every((x) => typeof x === "string")) {
    bad("classes must be a list of names");
  }
  const finite = (v: unknown, n: number) =>
    Array.isArray(v) && v.length === n && v.every((x) => typeof x === "number" && isFinite(x));
  const pre = c.preprocess as { mean?: unknown; std?: unknown } | undefined;
  if (!finite(pre?.mean, 3) || !finite(pre?.std, 3)) {
    bad("preprocess needs mean and std of 3 numbers");
  }
  if (!finite(c.variances, 2)) bad("variances must be [center, size]");
  if (c.postprocess === null || typeof c.postprocess !== "object") bad("no postprocess");
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
    checkConfigShape(cfg, file);
  } else if (meta.model && MODEL_NAMES.includes(meta.model)) {
    cfg = getConfig(meta.model);
  } else if (meta.arch) {
    const preset = MODEL_NAMES.find((n) => getConfig(n).arch === meta.arch);
    cfg = preset ? getConfig(preset) : undefined;
  }
  if (cfg && meta.classes) {
    try {
      const classes = JSON.parse(meta.classes) as string[];
      if (!Array.isArray(classes) || !classes.every((c) => typeof c === "string")) {
        throw new TypeError("not a list of names");
      }
      const bg = /^(__)?background(__)?$/i.test(classes[0] ?? "");
      cfg = { ...cfg, classes: bg ? classes.slice(1) : classes };
    } catch {
      throw new FileError(file, 'metadata "classes" is not a JSON list of names');
    }
  }
  return cfg;
}

/** Half floats with an all-ones exponent are infinite (mantissa 0) or NaN. */
const HALF_EXPONENT = 0x7c00;

/**
 * Refuses weights holding NaN or infinite values: a network with one of them computes NaN
 * scores, and so detects nothing while seeming to work (typically a training run that
 * diverged and saved anyway).
 *
 * @throws {FileError} naming the first tensor with a non-finite value and how many it has.
 */
export function checkFiniteWeights(sd: StateDict, file: string): void {
  for (const [name, t] of sd) {
    let bad = 0;
    const d = t.data;
    if (t.dtype === "float16") {
      for (let i = 0; i < d.length; i++) {
        if (((d[i] as number) & HALF_EXPONENT) === HALF_EXPONENT) bad++;
      }
    } else if (d instanceof Float32Array || d instanceof Float64Array) {
      for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) bad++;
    }
    if (bad > 0) {
      throw new FileError(
        file,
        `tensor "${name}" holds ${bad === d.length ? "only" : `${bad} of ${d.length}`} NaN or ` +
          "infinite values; these weights are broken (a training run that diverged?)",
      );
    }
  }
}

/**
 * Builds the model of `cfg` and loads `sd` into it; load errors become FileErrors. (The
 * network code and tfjs load only here, so reading a config, as `ssd priors` does, stays fast.)
 */
async function modelWith(cfg: ModelConfig, sd: StateDict, file: string): Promise<SsdModel> {
  checkFiniteWeights(sd, file);
  const { buildModel } = await import("./ssd.ts");
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
async function checkPriorHash(
  cfg: ModelConfig,
  expected: string | undefined,
  file: string,
): Promise<void> {
  if (expected === undefined) return;
  const { generatePriors, priorsHash } = await import("../priors.ts");
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

/** Where the weights of a preset without shipped weights come from. */
const WEIGHT_SOURCES: Record<string, { fn: string; file: string }> = {
  ssdlite320: { fn: "ssdlite320_mobilenet_v3_large", file: "ssdlite320.pth" },
  "ssd300-coco": { fn: "ssd300_vgg16", file: "ssd300-coco.pth" },
};

/** The one-line error for a preset that has no weights here, saying how to get them. */
function noWeights(spec: string): UsageError {
  const source = WEIGHT_SOURCES[spec];
  if (source !== undefined) {
    return new UsageError(
      `model "${spec}" has no shipped weights; get torchvision's with ` +
        `python3 -c 'import torch; from torchvision.models.detection import ${source.fn}; ` +
        `torch.save(${source.fn}(weights="DEFAULT").state_dict(), "${source.file}")' ` +
        `and pass --model ${source.file} (or train one with ssd train --model ${spec})`,
    );
  }
  return new UsageError(
    `model "${spec}" has no shipped weights and no pretrained ones exist; train them with ` +
      `ssd train --model ${spec} --data <dataset> and pass --model ` +
      "runs/train/exp/best.safetensors (or any .safetensors or .pth file of this model)",
  );
}

/**
 * The weights file a `--model` value reads (a `.safetensors` or `.pth` path, or a shipped
 * model's file), or undefined for a preset without weights or an unknown name. Commands list
 * it among their inputs, so no output of theirs can be written over it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modelWeightsFile } from "./load.ts";
 * assert.equal(modelWeightsFile("my.pth"), "my.pth");
 * assert.match(modelWeightsFile("face-slim-320")!, /weights\/face-slim-320\.safetensors$/);
 * assert.equal(modelWeightsFile("ssd512"), undefined);
 * ```
 */
export function modelWeightsFile(spec: string): string | undefined {
  if (/\.(safetensors|pth|pt)$/i.test(spec)) return spec;
  if (!/^[\w.-]+$/.test(spec)) return undefined;
  const shipped = shippedWeightsPath(spec);
  try {
    return Deno.statSync(shipped).isFile ? shipped : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the config of a `.pth` file lives: beside it, `name.pth` → `name.ssd.json` (a `.pth`
 * holds tensors only; `ssd export --format torch` and `scripts/torch_train_ddp.py` write it, so
 * class names and priors travel with the weights).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configSidecarPath } from "./load.ts";
 * assert.equal(configSidecarPath("runs/raccoon.pth"), "runs/raccoon.ssd.json");
 * ```
 */
export function configSidecarPath(pth: string): string {
  return pth.replace(/\.(pth|pt)$/i, "") + ".ssd.json";
}

/** The config of a `.pth` from its sidecar (see {@link configSidecarPath}), if it has one. */
async function readConfigSidecar(pth: string): Promise<ModelConfig | undefined> {
  const path = configSidecarPath(pth);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new FileError(path, "cannot read the config beside the .pth");
  }
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch {
    throw new FileError(path, "not valid JSON");
  }
  checkConfigShape(cfg, path);
  return cfg;
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
    await checkPriorHash(cfg, metadata.prior_hash, spec);
    return { cfg, sd, file: spec };
  }
  if (lower.endsWith(".pth") || lower.endsWith(".pt")) {
    const { readTorchStateDict } = await import("../io/torch.ts");
    const sd = stripDataParallel(await readTorchStateDict(spec));
    const cfg = opts.arch
      ? archConfig(opts.arch)
      : (await readConfigSidecar(spec)) ?? inferConfig(sd, spec);
    return { cfg, sd, file: spec };
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
    if (!(await Deno.stat(path).catch(() => null))?.isFile) throw noWeights(spec);
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
  return await modelWith(cfg, sd!, file!);
}
