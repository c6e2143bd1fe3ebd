/**
 * The composed SSD model: the layer graph of a {@linkcode ModelConfig} (`describeNetwork`), its
 * parameters as variables under PyTorch state-dict names, the graph run by `runGraph`, and the
 * state-dict round trip.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { getConfig } from "../config.ts";
 * import { buildModel } from "./ssd.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel(getConfig("tiny"), { seed: 1 });
 * const images = tf.zeros([1, 160, 160, 3]) as tf.Tensor4D;
 * const { locPred, clsLogits } = model.predict(images);
 * assert.deepEqual(locPred.shape, [1, 2390, 4]);
 * assert.equal(clsLogits.shape[1], 2390);
 * tf.dispose([images, locPred, clsLogits]);
 * model.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ModelConfig } from "../config.ts";
import type { StateDict, TensorData } from "../io/state_dict.ts";
import type { NetworkGraph } from "./graph_ir.ts";
import { describeNetwork } from "./network.ts";
import type { Layout, ParamEntry, ParamStore } from "./params.ts";
import { createParamStore, runGraph } from "./run_graph.ts";
import { float32Values } from "./state_dict_convert.ts";

/** An SSD network with its weights. */
export interface SsdModel {
  /** The config it was built from: input size, priors, classes and processing. */
  readonly config: ModelConfig;
  /** The network as data (`describeNetwork(config)`): what `predict` runs and exporters walk. */
  readonly graph: NetworkGraph;
  /**
   * Images `[B, H, W, 3]` float32, already normalized ((px − mean)/std) → raw head outputs in
   * prior order (layer, row, column, anchor, as `generatePriors(config)`):
   * `loc [B, P, 4]` offsets (dx, dy, dw, dh), `logits [B, P, C]` (background at 0).
   * `training: true` uses batch statistics in BatchNorm and updates its running statistics.
   */
  predict(
    images: tf.Tensor4D,
    opts?: { training?: boolean },
  ): { locPred: tf.Tensor3D; clsLogits: tf.Tensor3D };
  /** Trainable variables by PyTorch state-dict name (`backbone.features.0.weight`, …). */
  readonly params: Map<string, tf.Variable>;
  /**
   * Copies a PyTorch-layout state dict in (OIHW → HWIO here). Every name must exist and every
   * shape match; with `strict` (default true) no name may be missing or unexpected
   * (`num_batches_tracked` may always be missing).
   *
   * @throws {RangeError} naming the missing, unexpected or mismatched entries; nothing is
   * assigned then.
   */
  loadStateDict(sd: StateDict, opts?: { strict?: boolean }): void;
  /** All weights and BatchNorm buffers in PyTorch layout and names. */
  stateDict(): StateDict;
  /** {@link stateDict} read asynchronously: WebGPU under Deno cannot read back synchronously. */
  stateDictAsync(): Promise<StateDict>;
  /** Number of trainable scalars (torchvision's `num_params`). */
  numParams(): number;
  /** Frees every variable. */
  dispose(): void;
}

/** Lists at most five items, then how many more. */
function listSome(items: string[]): string {
  const head = items.slice(0, 5).join(", ");
  return items.length > 5 ? `${head} and ${items.length - 5} more` : head;
}

/** Axis permutations PyTorch → tfjs: OIHW → HWIO, [C, 1, kH, kW] → [kH, kW, C, 1]. */
const TO_TFJS: Record<Layout, number[] | null> = {
  conv: [2, 3, 1, 0],
  depthwise: [2, 3, 0, 1],
  plain: null,
};
/** And back: HWIO → OIHW, [kH, kW, C, 1] → [C, 1, kH, kW]. */
const TO_TORCH: Record<Layout, number[] | null> = {
  conv: [3, 2, 0, 1],
  depthwise: [2, 3, 0, 1],
  plain: null,
};

const sameShape = (a: number[], b: number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** An entry's value in PyTorch's layout, as a new tensor (the caller disposes it). */
function torchLayout(e: ParamEntry): tf.Tensor {
  const perm = TO_TORCH[e.layout];
  return tf.tidy(() => perm ? tf.transpose(e.variable, perm) : tf.clone(e.variable));
}

class Ssd implements SsdModel {
  readonly config: ModelConfig;
  readonly graph: NetworkGraph;
  readonly params: Map<string, tf.Variable>;
  readonly #store: ParamStore;

  constructor(cfg: ModelConfig, seed: number) {
    this.config = cfg;
    this.graph = describeNetwork(cfg);
    this.#store = createParamStore(this.graph, { seed });
    this.params = this.#store.trainable();
  }

  predict(images: tf.Tensor4D, opts: { training?: boolean } = {}) {
    const [h, w] = this.config.imageSize;
    const s = images.shape;
    if (s.length !== 4 || s[1] !== h || s[2] !== w || s[3] !== 3) {
      throw new TypeError(
        `Cannot run ${this.config.name}: images must have shape [B, ${h}, ${w}, 3], got [${s}]`,
      );
    }
    return tf.tidy(() => {
      // the source maps' sizes were checked against the priors when the graph was described
      const { locPred, clsLogits } = runGraph(this.graph, this.#store, images, opts);
      return { locPred, clsLogits };
    });
  }

  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const store = this.#store;
    const missing: string[] = [];
    const mismatched: string[] = [];
    for (const [name, e] of store.entries) {
      const t = sd.get(name);
      if (!t) missing.push(name);
      else if (!sameShape(t.shape, e.torchShape)) {
        mismatched.push(`${name} expected [${e.torchShape}] got [${t.shape}]`);
      }
    }
    const unexpected = [...sd.keys()].filter((k) =>
      !store.entries.has(k) && !store.counters.has(k)
    );
    const problems: string[] = [];
    if (mismatched.length) problems.push(`shape mismatch: ${listSome(mismatched)}`);
    if (strict && missing.length) problems.push(`missing keys: ${listSome(missing)}`);
    if (strict && unexpected.length) problems.push(`unexpected keys: ${listSome(unexpected)}`);
    if (problems.length) {
      throw new RangeError(
        `Cannot load state dict into ${this.config.name}: ${problems.join("; ")}`,
      );
    }
    for (const [name, e] of store.entries) {
      const t = sd.get(name);
      if (!t) continue;
      tf.tidy(() => {
        const value = tf.tensor(float32Values(t), t.shape, "float32");
        const perm = TO_TFJS[e.layout];
        e.variable.assign(perm ? tf.transpose(value, perm) : value);
      });
    }
    for (const name of store.counters.keys()) {
      const t = sd.get(name);
      if (t) store.counters.set(name, Number(float32Values(t)[0] ?? 0));
    }
  }

  stateDict(): StateDict {
    const values = new Map<string, Float32Array>();
    for (const [name, e] of this.#store.entries) {
      const t = torchLayout(e); // one entry at a time: a second copy of one tensor at most
      values.set(name, Float32Array.from(t.dataSync() as Float32Array));
      t.dispose();
    }
    return this.#withCounters(values);
  }

  async stateDictAsync(): Promise<StateDict> {
    const values = new Map<string, Float32Array>();
    for (const [name, e] of this.#store.entries) {
      const t = torchLayout(e);
      values.set(name, Float32Array.from((await t.data()) as Float32Array));
      t.dispose();
    }
    return this.#withCounters(values);
  }

  /** The state dict of these values, with each BatchNorm's `num_batches_tracked`. */
  #withCounters(values: Map<string, Float32Array>): StateDict {
    const out: StateDict = new Map();
    for (const [name, data] of values) {
      const e = this.#store.entries.get(name)!;
      out.set(name, { dtype: "float32", shape: [...e.torchShape], data });
      const counter = name.replace(/running_var$/, "num_batches_tracked");
      if (counter !== name && this.#store.counters.has(counter)) {
        const tracked: TensorData = {
          dtype: "int64",
          shape: [],
          data: BigInt64Array.of(BigInt(this.#store.counters.get(counter) ?? 0)),
        };
        out.set(counter, tracked);
      }
    }
    return out;
  }

  numParams(): number {
    return this.#store.numParams();
  }

  dispose(): void {
    this.#store.dispose();
    this.params.clear();
  }
}

/**
 * Builds the network of `cfg` with fresh weights, initialised like torchvision (xavier for SSD
 * heads and extras, kaiming for VGG, N(0, 0.03) for SSDlite). `seed` makes them reproducible.
 *
 * @throws {RangeError} when the architecture cannot serve `cfg` (see `describeNetwork`).
 */
export function buildModel(cfg: ModelConfig, opts: { seed?: number } = {}): SsdModel {
  return new Ssd(cfg, opts.seed ?? 0);
}
