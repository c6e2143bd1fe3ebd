/**
 * Stochastic gradient descent with momentum and weight decay, exactly as `torch.optim.SGD`
 * (dampening 0, not Nesterov) applies it, which is what torchvision's detection reference
 * trains SSD with:
 *
 *   g ← ∇θ + λ·θ;   b ← g on the first step, else μ·b + g;   θ ← θ − lr·b
 *
 * Weight decay applies to every parameter handed in, BatchNorm's included, as torchvision's
 * reference does by default (`--norm-weight-decay` unset).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { Sgd } from "./sgd.ts";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1]));
 * const sgd = new Sgd(new Map([["w", w]]), { momentum: 0.9, weightDecay: 0.5 });
 * // g = 2 + 0.5·1 = 2.5; b = 2.5; w = 1 − 0.1·2.5 = 0.75
 * sgd.step(new Map([["w", tf.tensor1d([2])]]), 0.1);
 * assert.ok(Math.abs(w.dataSync()[0] - 0.75) < 1e-7);
 * // g = 2 + 0.5·0.75 = 2.375; b = 0.9·2.5 + 2.375 = 4.625; w = 0.75 − 0.1·4.625 = 0.2875
 * sgd.step(new Map([["w", tf.tensor1d([2])]]), 0.1);
 * assert.ok(Math.abs(w.dataSync()[0] - 0.2875) < 1e-6);
 * sgd.dispose();
 * w.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Hyper-parameters of {@link Sgd}; defaults are the SSD paper's. */
export interface SgdOptions {
  /** μ. Default 0.9 (SSD paper §3, torchvision reference). */
  momentum?: number;
  /** λ (L2 penalty added to the gradient). Default 5e-4 (SSD paper §3). */
  weightDecay?: number;
}

/** SGD over named variables; the momentum buffers are its state. */
export class Sgd {
  readonly momentum: number;
  readonly weightDecay: number;
  /** Variables updated, by name. */
  readonly params: Map<string, tf.Variable>;
  /** Momentum buffer per name, created on the first step that has a gradient for it. */
  readonly #buffers = new Map<string, tf.Tensor>();

  constructor(params: Map<string, tf.Variable>, opts: SgdOptions = {}) {
    this.params = params;
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 5e-4;
    if (!(this.momentum >= 0 && this.momentum < 1)) {
      throw new RangeError(`Cannot make SGD: momentum must be in [0, 1), got ${this.momentum}`);
    }
    if (!(this.weightDecay >= 0)) {
      throw new RangeError(`Cannot make SGD: weightDecay must be ≥ 0, got ${this.weightDecay}`);
    }
  }

  /**
   * One update with learning rate `lr`. `grads` maps parameter names to gradients of the
   * parameter's shape; names without a gradient are left alone (as PyTorch skips `grad None`).
   * The gradients stay the caller's.
   */
  step(grads: Map<string, tf.Tensor>, lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) {
      throw new RangeError(`Cannot take an SGD step: lr must be finite and ≥ 0, got ${lr}`);
    }
    for (const [name, grad] of grads) {
      const p = this.params.get(name);
      if (p === undefined) continue;
      const old = this.#buffers.get(name);
      const buf = tf.tidy(() => {
        const g = this.weightDecay > 0 ? tf.add(grad, tf.mul(p, this.weightDecay)) : grad;
        if (this.momentum === 0) return tf.clone(g);
        return old === undefined ? tf.clone(g) : tf.add(tf.mul(old, this.momentum), g);
      });
      tf.tidy(() => p.assign(tf.sub(p, tf.mul(buf, lr))));
      old?.dispose();
      if (this.momentum > 0) this.#buffers.set(name, tf.keep(buf));
      else buf.dispose();
    }
  }

  /** The momentum buffers, by parameter name (copies, in the variables' tfjs layout). */
  state(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, b] of this.#buffers) {
      out.set(name, { shape: [...b.shape], data: Float32Array.from(b.dataSync() as Float32Array) });
    }
    return out;
  }

  /** {@link state} read asynchronously, which WebGPU needs. */
  async stateAsync(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, b] of this.#buffers) {
      out.set(name, {
        shape: [...b.shape],
        data: Float32Array.from((await b.data()) as Float32Array),
      });
    }
    return out;
  }

  /**
   * Restores buffers saved by {@link state}. Names this optimizer does not update are ignored.
   *
   * @throws {RangeError} when a buffer's shape differs from its parameter's.
   */
  loadState(state: Map<string, { shape: number[]; data: Float32Array }>): void {
    for (const [name, s] of state) {
      const p = this.params.get(name);
      if (p === undefined) continue;
      if (s.shape.join() !== p.shape.join()) {
        throw new RangeError(
          `Cannot restore SGD state: buffer of ${name} has shape [${s.shape}], the parameter [${p.shape}]`,
        );
      }
      this.#buffers.get(name)?.dispose();
      this.#buffers.set(name, tf.tensor(s.data, s.shape, "float32"));
    }
  }

  /** Frees the buffers (not the parameters). */
  dispose(): void {
    for (const b of this.#buffers.values()) b.dispose();
    this.#buffers.clear();
  }
}
