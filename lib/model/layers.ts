/**
 * Layers with PyTorch semantics on NHWC tensors: conv with explicit symmetric padding
 * (PyTorch pads `padding` on every side; TF `same` with stride 2 pads after only), BatchNorm
 * with running statistics, L2Norm, depthwise convs, hard-swish, squeeze-and-excitation.
 *
 * A layer builder registers its parameters in a {@linkcode ParamStore} under PyTorch names
 * and returns a {@linkcode Layer}: a pure function of the input (and the training flag).
 * Convs are plain `tf.conv2d` + `tf.add` (never `tf.fused.conv2d`, whose linear path calls
 * `Conv2DBackpropFilter` directly, missing on wasm) so every layer can be differentiated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { ParamStore } from "./params.ts";
 * import { conv2d } from "./layers.ts";
 * await tf.setBackend("cpu");
 * const store = new ParamStore(0);
 * // Conv2d(3, 4, kernel_size=3, stride=2, padding=1): 8×8 → 4×4, as PyTorch.
 * const conv = conv2d(store, "c", { inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1 });
 * const y = conv(tf.zeros([1, 8, 8, 3]), false);
 * assert.deepEqual(y.shape, [1, 4, 4, 4]);
 * y.dispose();
 * store.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Init, ParamStore } from "./params.ts";
import { batchNormTraining } from "../engine/op_gradients.ts";

/** A network piece: NHWC in, NHWC out. `training` switches BatchNorm to batch statistics. */
export type Layer = (x: tf.Tensor4D, training: boolean) => tf.Tensor4D;

/** `nn.Conv2d` arguments (square kernels). */
export interface ConvSpec {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  /** Zero padding on every side, PyTorch style. Default 0. */
  padding?: number;
  dilation?: number;
  /** `groups = inChannels = outChannels`: a depthwise conv. */
  depthwise?: boolean;
  /** Default true, as nn.Conv2d. */
  bias?: boolean;
  /** Weight init; default PyTorch's own (kaiming_uniform a=√5). */
  init?: Init;
}

/** Applies PyTorch's symmetric padding, choosing the cheapest equivalent tfjs padding. */
function padInput(
  x: tf.Tensor4D,
  spec: { kernel: number; stride: number; padding: number; dilation: number },
): [tf.Tensor4D, "valid" | "same"] {
  const { kernel, stride, padding, dilation } = spec;
  if (padding === 0) return [x, "valid"];
  if (stride === 1 && 2 * padding === dilation * (kernel - 1)) return [x, "same"];
  const p = padding;
  return [tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]), "valid"];
}

/**
 * `nn.Conv2d` as `{name}.weight` (+ `{name}.bias`). Input `[B, H, W, inChannels]`, output
 * `[B, H', W', outChannels]` with H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1.
 */
export function conv2d(store: ParamStore, name: string, spec: ConvSpec): Layer {
  const { inChannels, outChannels, kernel } = spec;
  const stride = spec.stride ?? 1;
  const padding = spec.padding ?? 0;
  const dilation = spec.dilation ?? 1;
  const depthwise = spec.depthwise ?? false;
  if (depthwise && inChannels !== outChannels) {
    throw new RangeError(
      `Cannot build depthwise conv ${name}: in and out channels must match, got ${inChannels} and ${outChannels}`,
    );
  }
  const init = spec.init ?? { kind: "torchDefault" };
  const torchShape = [outChannels, depthwise ? 1 : inChannels, kernel, kernel];
  const weight = store.add(`${name}.weight`, torchShape, {
    layout: depthwise ? "depthwise" : "conv",
    init,
  }) as tf.Variable<tf.Rank.R4>;
  let bias: tf.Variable | undefined;
  if (spec.bias ?? true) {
    // nn.Conv2d's default bias is U(±1/√fanIn); torchvision's inits set it to 0.
    const biasInit: Init = init.kind === "torchDefault"
      ? { kind: "uniform", bound: 1 / Math.sqrt(torchShape[1] * kernel * kernel) }
      : { kind: "constant", value: 0 };
    bias = store.add(`${name}.bias`, [outChannels], { init: biasInit });
  }
  const geometry = { kernel, stride, padding, dilation };
  return (x) => {
    const [input, pad] = padInput(x, geometry);
    const y = depthwise
      ? tf.depthwiseConv2d(input, weight, stride, pad, "NHWC", dilation)
      : tf.conv2d(input, weight, stride, pad, "NHWC", dilation);
    return bias ? tf.add(y, bias) : y;
  };
}

/**
 * `nn.BatchNorm2d` as `{name}.{weight,bias,running_mean,running_var,num_batches_tracked}`.
 * Inference: y = (x − running_mean)/√(running_var + eps)·weight + bias. Training: batch
 * statistics over B, H, W (biased variance), and the running statistics move by `momentum`
 * towards the batch mean and the unbiased batch variance, as PyTorch.
 */
export function batchNorm(
  store: ParamStore,
  name: string,
  opts: { channels: number; eps?: number; momentum?: number },
): Layer {
  const { channels } = opts;
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const gamma = store.add(`${name}.weight`, [channels], {
    init: { kind: "constant", value: 1 },
  }) as tf.Variable<tf.Rank.R1>;
  const beta = store.add(`${name}.bias`, [channels], {
    init: { kind: "constant", value: 0 },
  }) as tf.Variable<tf.Rank.R1>;
  const mean = store.add(`${name}.running_mean`, [channels], {
    init: { kind: "constant", value: 0 },
    trainable: false,
  }) as tf.Variable<tf.Rank.R1>;
  const variance = store.add(`${name}.running_var`, [channels], {
    init: { kind: "constant", value: 1 },
    trainable: false,
  }) as tf.Variable<tf.Rank.R1>;
  const counter = `${name}.num_batches_tracked`;
  store.addCounter(counter);
  return (x, training) => {
    if (!training) {
      return tf.batchNorm4d(x, mean, variance, beta, gamma, eps);
    }
    // one op with its closed-form gradient: ~3× fewer passes over x than moments + batchNorm
    const { y, mean: batchMean, variance: batchVar } = batchNormTraining(x, gamma, beta, eps);
    try {
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      const unbiased = tf.mul(batchVar, n / Math.max(1, n - 1));
      mean.assign(tf.add(tf.mul(mean, 1 - momentum), tf.mul(batchMean, momentum)));
      variance.assign(tf.add(tf.mul(variance, 1 - momentum), tf.mul(unbiased, momentum)));
    } finally {
      tf.dispose([batchMean, batchVar]);
    }
    store.counters.set(counter, (store.counters.get(counter) ?? 0) + 1);
    return y;
  };
}

/**
 * torchvision SSD's conv4_3 rescaling: `scale_weight.view(1,-1,1,1) * F.normalize(x, dim=1)`,
 * i.e. x / max(‖x‖₂, 1e-12) per location, times a learnable per-channel scale initialised to
 * `scale` (20 in the SSD paper, ParseNet). Written as x·rsqrt(max(Σx², 1e-24)) so that the
 * gradient stays finite at all-zero locations. Parameter: `name` itself (`backbone.scale_weight`).
 */
export function l2Norm(
  store: ParamStore,
  name: string,
  opts: { channels: number; scale?: number },
): Layer {
  const weight = store.add(name, [opts.channels], {
    init: { kind: "constant", value: opts.scale ?? 20 },
  });
  return (x) => {
    const sumSq = tf.sum(tf.square(x), 3, true); // [B, H, W, 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.maximum(sumSq, 1e-24))), weight);
  };
}

/** ReLU6 (min(max(x, 0), 6)). */
export function relu6(x: tf.Tensor4D): tf.Tensor4D {
  return tf.relu6(x);
}

/** PyTorch `Hardsigmoid`: relu6(x + 3) / 6. */
export function hardSigmoid<T extends tf.Tensor>(x: T): T {
  return tf.div(tf.relu6(tf.add(x, 3)), 6) as T;
}

/** PyTorch `Hardswish`: x · relu6(x + 3) / 6 (MobileNetV3). */
export function hardSwish(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(x, hardSigmoid(x));
}

/**
 * torchvision `SqueezeExcitation` with hard-sigmoid gate (MobileNetV3): global average pool,
 * `{name}.fc1` 1×1 conv + ReLU, `{name}.fc2` 1×1 conv + hard-sigmoid, times the input.
 */
export function squeezeExcite(
  store: ParamStore,
  name: string,
  opts: { channels: number; squeeze: number; init?: Init },
): Layer {
  const { channels, squeeze, init } = opts;
  const fc1 = conv2d(store, `${name}.fc1`, {
    inChannels: channels,
    outChannels: squeeze,
    kernel: 1,
    init,
  });
  const fc2 = conv2d(store, `${name}.fc2`, {
    inChannels: squeeze,
    outChannels: channels,
    kernel: 1,
    init,
  });
  return (x, training) => {
    const pooled = tf.mean(x, [1, 2], true) as tf.Tensor4D; // [B, 1, 1, C]
    const gate = hardSigmoid(fc2(tf.relu(fc1(pooled, training)), training));
    return tf.mul(x, gate);
  };
}

/** Runs layers one after another. */
export function sequential(...layers: Layer[]): Layer {
  return (x, training) => layers.reduce((h, layer) => layer(h, training), x);
}

/** `nn.ReLU` as a layer. */
export const reluLayer: Layer = (x) => tf.relu(x);

/** `nn.MaxPool2d(kernel, stride, padding)`; `ceil` = `ceil_mode=True` (pads after, ignored). */
export function maxPool(opts: { kernel: number; stride: number; ceil?: boolean }): Layer {
  const { kernel, stride } = opts;
  return (x) => {
    if (kernel === 3 && stride === 1) return tf.maxPool(x, 3, 1, "same"); // padding=1: pads ignored
    const [h, w] = [x.shape[1], x.shape[2]];
    const fits = (h - kernel) % stride === 0 && (w - kernel) % stride === 0;
    return tf.maxPool(x, kernel, stride, opts.ceil && !fits ? "same" : "valid");
  };
}
