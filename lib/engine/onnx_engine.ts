/**
 * The onnxruntime engine: an {@linkcode InferenceEngine} over an ONNX model exported by
 * `ssd export --format onnx` (input `images [B, 3, H, W]`, outputs `loc`, `logits`, and
 * `boxes`, `scores`), run by onnxruntime-node (needs `--allow-ffi`). The model's config comes
 * from its `config` metadata, so detection needs nothing else; no tfjs is involved.
 *
 * @module
 */
import type * as Ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import type { ModelConfig } from "../config.ts";
import { FileError } from "../errors.ts";
import { generatePriors, priorsHash } from "../priors.ts";
import { checkEngineInput, type EngineOutputs, type InferenceEngine } from "./engine.ts";

/** One output of {@link OnnxEngine.run}. */
export interface OnnxOutput {
  /** The values, row-major (`selected` of the NMS graph is int64). */
  data: Float32Array | BigInt64Array;
  /** The shape, e.g. `[B, P, 4]` for `boxes`. */
  dims: number[];
}

/** The onnxruntime engine, with access to every output of the exported graph. */
export interface OnnxEngine extends InferenceEngine {
  /** Always `onnxruntime`. */
  readonly kind: "onnxruntime";
  /** The model's `metadata_props`. */
  readonly metadata: Record<string, string>;
  /** The graph's output names (`loc`, `logits`, `boxes`, `scores`, maybe `selected`). */
  readonly outputNames: readonly string[];
  /** Runs the graph on NHWC images and returns the named outputs. */
  run(images: Float32Array, batch: number, outputs: string[]): Promise<Record<string, OnnxOutput>>;
}

/** Options of {@link loadOnnxEngine}. */
export interface OnnxEngineOptions {
  /** The config, when the file has no `config` metadata (a foreign export). */
  config?: ModelConfig;
  /** onnxruntime intra-op threads (default: its own choice, the cores). */
  threads?: number;
}

/**
 * The `metadata_props` of an ONNX model, as a record.
 *
 * @throws {FileError} when `bytes` is not an ONNX model.
 */
export function onnxMetadata(bytes: Uint8Array, file = "model.onnx"): Record<string, string> {
  let model;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new FileError(file, `not an ONNX model: ${(err as Error).message}`);
  }
  const out: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? "";
  return out;
}

/** `[B, H, W, C]` → `[B, C, H, W]`. */
export function nhwcToNchw(x: Float32Array, batch: number, h: number, w: number): Float32Array {
  const c = x.length / (batch * h * w);
  const out = new Float32Array(x.length);
  const plane = h * w;
  for (let b = 0; b < batch; b++) {
    const src = b * plane * c;
    for (let i = 0; i < plane; i++) {
      for (let k = 0; k < c; k++) out[src + k * plane + i] = x[src + i * c + k];
    }
  }
  return out;
}

function configFrom(meta: Record<string, string>, file: string): ModelConfig {
  if (!meta.config) {
    throw new FileError(file, 'no "config" metadata: not exported by ssd export; pass a config');
  }
  let cfg: ModelConfig;
  try {
    cfg = JSON.parse(meta.config) as ModelConfig;
  } catch {
    throw new FileError(file, 'metadata "config" is not valid JSON');
  }
  if (!cfg?.arch || !Array.isArray(cfg.imageSize) || !Array.isArray(cfg.priors?.layers)) {
    throw new FileError(file, 'metadata "config" is not a model config (arch, imageSize, priors)');
  }
  if (meta.prior_hash !== undefined) {
    const hash = priorsHash(generatePriors(cfg));
    if (hash !== meta.prior_hash) {
      throw new FileError(
        file,
        `the graph was made for priors ${meta.prior_hash}, its config gives ${hash}`,
      );
    }
  }
  return cfg;
}

/**
 * Loads an exported ONNX model (a file path, or the bytes of an in-memory export) into
 * onnxruntime.
 *
 * @throws {FileError} when the file cannot be read, is not ONNX, lacks the `images` input or
 * the `loc` / `logits` outputs, or onnxruntime refuses it.
 */
export async function loadOnnxEngine(
  source: string | Uint8Array,
  opts: OnnxEngineOptions = {},
): Promise<OnnxEngine> {
  const file = typeof source === "string" ? source : "<in-memory ONNX>";
  let bytes: Uint8Array;
  try {
    bytes = typeof source === "string" ? await Deno.readFile(source) : source;
  } catch (err) {
    throw new FileError(file, `cannot read: ${(err as Error).message}`);
  }
  const metadata = onnxMetadata(bytes, file);
  const cfg = opts.config ?? configFrom(metadata, file);
  const ort: typeof Ort = await import("onnxruntime-node");
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    });
  } catch (err) {
    throw new FileError(
      file,
      `onnxruntime cannot load it: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  const missing = ["loc", "logits"].filter((n) => !session.outputNames.includes(n));
  if (!session.inputNames.includes("images") || missing.length > 0) {
    await session.release();
    throw new FileError(
      file,
      `expected input "images" and outputs "loc", "logits"; it has inputs ${
        session.inputNames.join(", ")
      } and outputs ${session.outputNames.join(", ")}`,
    );
  }
  const [h, w] = cfg.imageSize;

  async function run(images: Float32Array, batch: number, outputs: string[]) {
    checkEngineInput(images, batch, cfg);
    const input = new ort.Tensor("float32", nhwcToNchw(images, batch, h, w), [batch, 3, h, w]);
    const unknown = outputs.filter((n) => !session.outputNames.includes(n));
    if (unknown.length > 0) {
      throw new RangeError(
        `Cannot run ${file}: no output ${unknown.join(", ")}; it has ${
          session.outputNames.join(", ")
        }`,
      );
    }
    // All outputs, then pick: onnxruntime-node ≤ 1.23 files the outputs of a fetches list
    // under the session's first output names (microsoft/onnxruntime#26865).
    const result = await session.run({ images: input });
    const out: Record<string, OnnxOutput> = {};
    for (const name of outputs) {
      const t = result[name];
      out[name] = { data: t.data as Float32Array | BigInt64Array, dims: t.dims.map(Number) };
    }
    return out;
  }

  return {
    kind: "onnxruntime",
    config: cfg,
    metadata,
    outputNames: session.outputNames,
    run,
    async predict(images: Float32Array, batch: number): Promise<EngineOutputs> {
      const { loc, logits } = await run(images, batch, ["loc", "logits"]);
      return {
        locPred: loc.data as Float32Array,
        clsLogits: logits.data as Float32Array,
        batch,
        numPriors: loc.dims[1],
        numClasses: logits.dims[2],
      };
    },
    dispose: () => session.release(),
  };
}
