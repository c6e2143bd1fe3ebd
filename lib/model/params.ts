/**
 * The parameter store of a model: every weight under its PyTorch state-dict name, held as a
 * tfjs variable in the tfjs layout, with what it takes to convert to and from PyTorch.
 *
 * Layouts: a conv weight is OIHW `[O, I, kH, kW]` in PyTorch and HWIO `[kH, kW, I, O]` in tfjs;
 * a depthwise weight is `[C, 1, kH, kW]` in PyTorch and `[kH, kW, C, 1]` in tfjs; everything else
 * has the same shape in both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { ParamStore } from "./params.ts";
 * await tf.setBackend("cpu");
 * const store = new ParamStore(1);
 * const w = store.add("conv.weight", [8, 3, 3, 3], { layout: "conv", init: { kind: "xavierUniform" } });
 * assert.deepEqual(w.shape, [3, 3, 3, 8]);
 * assert.equal(store.numParams(), 8 * 3 * 3 * 3);
 * store.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * How a PyTorch tensor maps to the tfjs variable: `conv` OIHW → HWIO, `depthwise`
 * `[C, 1, kH, kW]` → `[kH, kW, C, 1]`, `plain` the same shape.
 */
export type Layout = "conv" | "depthwise" | "plain";

/**
 * Weight initialisation, as torch.nn.init names it. Fans follow PyTorch: for a conv weight
 * `[O, I/groups, kH, kW]`, fanIn = I/groups·kH·kW and fanOut = O·kH·kW.
 */
export type Init =
  | { kind: "xavierUniform" } // U(±√(6 / (fanIn + fanOut)))
  | { kind: "kaimingNormalFanOut" } // N(0, √(2 / fanOut)), torchvision VGG/MobileNet
  | { kind: "normal"; std: number } // N(0, std), torchvision SSDlite (std 0.03)
  | { kind: "torchDefault" } // kaiming_uniform(a=√5) = U(±1/√fanIn), nn.Conv2d's own default
  | { kind: "uniform"; bound: number } // U(±bound)
  | { kind: "constant"; value: number };

/** One stored tensor. */
export interface ParamEntry {
  /** The tensor, in the tfjs layout. */
  variable: tf.Variable;
  /** Shape in the PyTorch state dict. */
  torchShape: number[];
  /** How `torchShape` maps to the variable's shape. */
  layout: Layout;
  /** false for BatchNorm running statistics. */
  trainable: boolean;
}

/** Options of {@linkcode ParamStore.add}. */
export interface AddOptions {
  /** How the PyTorch shape maps to the tfjs one. Default `"plain"` (unchanged). */
  layout?: Layout;
  /** The initial values. */
  init: Init;
  /** Whether optimizers update it. Default true; false for BatchNorm running statistics. */
  trainable?: boolean;
}

/** Shape of a PyTorch tensor in the tfjs layout. */
export function tfjsShape(torchShape: number[], layout: Layout): number[] {
  const [o, i, kh, kw] = torchShape;
  if (layout === "conv") return [kh, kw, i, o];
  if (layout === "depthwise") return [kh, kw, o, 1];
  return [...torchShape];
}

/** PyTorch fans of a weight shape. */
function fans(torchShape: number[]): [number, number] {
  if (torchShape.length < 2) return [torchShape[0] ?? 1, torchShape[0] ?? 1];
  const receptive = torchShape.slice(2).reduce((a, b) => a * b, 1);
  return [torchShape[1] * receptive, torchShape[0] * receptive];
}

/** The variables of one model, by PyTorch name, in creation (= state-dict) order. */
export class ParamStore {
  /** Name → stored tensor. */
  readonly entries: Map<string, ParamEntry> = new Map();
  /** BatchNorm `num_batches_tracked` counters (int64 in PyTorch), by full name. */
  readonly counters: Map<string, number> = new Map();
  readonly #seed: number;
  #draws = 0;

  /** `seed` makes initialisation reproducible (each tensor draws with seed·1_000_003 + k + 1). */
  constructor(seed = 0) {
    this.#seed = seed;
  }

  /**
   * Creates a variable named `name` of PyTorch shape `torchShape` (stored in the tfjs layout).
   *
   * @throws {RangeError} if the name is taken.
   */
  add(name: string, torchShape: number[], opts: AddOptions): tf.Variable {
    if (this.entries.has(name)) {
      throw new RangeError(`Cannot add parameter "${name}": the name is already taken`);
    }
    const layout = opts.layout ?? "plain";
    const trainable = opts.trainable ?? true;
    const shape = tfjsShape(torchShape, layout);
    // + 1: tfjs takes a seed of 0 as "no seed" (a random one), so seed 0 would not reproduce
    const seed = this.#seed * 1_000_003 + this.#draws++ + 1;
    const [fanIn, fanOut] = fans(torchShape);
    const init = opts.init;
    const value = tf.tidy(() => {
      switch (init.kind) {
        case "constant":
          return tf.fill(shape, init.value);
        case "xavierUniform": {
          const a = Math.sqrt(6 / (fanIn + fanOut));
          return tf.randomUniform(shape, -a, a, "float32", seed);
        }
        case "uniform":
          return tf.randomUniform(shape, -init.bound, init.bound, "float32", seed);
        case "torchDefault": {
          const a = 1 / Math.sqrt(fanIn);
          return tf.randomUniform(shape, -a, a, "float32", seed);
        }
        case "kaimingNormalFanOut":
          return tf.randomNormal(shape, 0, Math.sqrt(2 / fanOut), "float32", seed);
        case "normal":
          return tf.randomNormal(shape, 0, init.std, "float32", seed);
      }
    });
    const variable = tf.variable(value, trainable);
    value.dispose();
    this.entries.set(name, { variable, torchShape: [...torchShape], layout, trainable });
    return variable;
  }

  /** Registers a BatchNorm `num_batches_tracked` counter (starts at 0). */
  addCounter(name: string): void {
    this.counters.set(name, 0);
  }

  /** Trainable variables by name. */
  trainable(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, e] of this.entries) if (e.trainable) out.set(name, e.variable);
    return out;
  }

  /** Number of trainable scalars (what torchvision's `num_params` counts). */
  numParams(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.trainable) n += e.variable.size;
    return n;
  }

  /** Frees every variable. */
  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
  }
}
