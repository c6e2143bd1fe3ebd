/**
 * The SSD training step in onnxruntime: the matcher (`matchTargets`, tfjs) gives each prior
 * its target, then one run of the step graph of {@link buildTrainGraphs} does the forward pass,
 * the MultiBox loss with hard negative mining and every gradient, and the SGD update
 * (momentum, weight decay as `torch.optim.SGD`) and BatchNorm's running statistics are applied
 * here to the parameters' arrays.
 *
 * The parameters live here, as Float32Arrays in PyTorch layout (a state dict); `stateDict()`
 * gives them back for a checkpoint or to load into a tfjs model.
 *
 * @module
 */
import type * as Ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs-core";
import { type ModelConfig, numClasses } from "../config.ts";
import type { StateDict, TensorData } from "../io/state_dict.ts";
import { matchTargets } from "../match.ts";
import type { NetworkGraph, ParamSpec } from "../model/graph_ir.ts";
import { type Layout, tfjsShape } from "../model/params.ts";
import { checkStepBatch, type StepBatch, type StepResult } from "../train/step.ts";
import { nchwcBlock } from "./onnx_nchwc.ts";
import { buildTrainGraphs, type TrainGraphOptions, type TrainGraphs } from "./onnx_train_graph.ts";

/** Options of {@link OnnxTrainer.create}. */
export interface OnnxTrainerOptions {
  /** onnxruntime intra-op threads (default: onnxruntime's, one per core). */
  threads?: number;
  /** Hard negatives per positive. Default 3. */
  negPosRatio?: number;
  /** SGD momentum. Default 0.9. */
  momentum?: number;
  /** L2 weight decay added to each gradient. Default 5e-4. */
  weightDecay?: number;
  /** Parameters to update (default: every trainable one). */
  trainable?: Set<string>;
  /**
   * Run the convs that fit it in onnxruntime's NCHWc kernel, where this machine has it
   * (`onnx_nchwc.ts`). Default true; false keeps ONNX's `Conv` (for comparison).
   */
  nchwc?: boolean;
}

/** The NCHWc block of this process's onnxruntime, found once. */
let blockProbe: Promise<number> | undefined;

/** Gradients of one batch, before any update. */
export interface OnnxGradients {
  /** `locLoss + clsLoss`. */
  loss: number;
  /** Smooth L1 over the positives, divided by their count. */
  locLoss: number;
  /** Cross-entropy over the positives and the mined negatives, divided by the positives. */
  clsLoss: number;
  /** Matched priors in the batch. */
  numPositives: number;
  /** Per trainable parameter, PyTorch layout. */
  grads: Map<string, Float32Array>;
}

/** A model's parameters and optimizer state, trained with onnxruntime. */
export class OnnxTrainer {
  /** The model's config. */
  readonly config: ModelConfig;
  /** SGD momentum. */
  readonly momentum: number;
  /** L2 weight decay added to each gradient. */
  readonly weightDecay: number;
  readonly #graph: NetworkGraph;
  readonly #build: TrainGraphOptions;
  readonly #threads: number | undefined;
  /** The step graph and its session per batch size (one key, 0, when no graph needs the size). */
  readonly #steps = new Map<
    number,
    Promise<{ graphs: TrainGraphs; session: Ort.InferenceSession }>
  >();
  readonly #ort: typeof Ort;
  readonly #values: StateDict;
  readonly #buffers = new Map<string, Float32Array>();
  readonly #bnMomentum: Map<string, number>;
  readonly #spec: Map<string, ParamSpec>;

  private constructor(
    ort: typeof Ort,
    config: ModelConfig,
    graph: NetworkGraph,
    build: TrainGraphOptions,
    values: StateDict,
    opts: OnnxTrainerOptions,
  ) {
    this.#ort = ort;
    this.config = config;
    this.#graph = graph;
    this.#build = build;
    this.#threads = opts.threads;
    this.#values = values;
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 5e-4;
    this.#spec = new Map(graph.params.map((p) => [p.name, p]));
    this.#bnMomentum = new Map(
      graph.nodes.flatMap((n) => n.op === "batchNorm" ? [[n.prefix, n.momentum]] : []),
    );
  }

  /**
   * Checks that `graph` can train in onnxruntime and that `stateDict` has its parameters, and
   * starts from the tensors of `stateDict` (copied). The step graph of each batch size is built
   * and loaded into onnxruntime at its first step: with the NCHWc kernel the depthwise filter
   * gradients need the size (`buildTrainGraphs`' `batch`).
   *
   * @throws {RangeError} when the graph has an op the ONNX lowering does not support.
   */
  static async create(
    graph: NetworkGraph,
    config: ModelConfig,
    stateDict: StateDict,
    opts: OnnxTrainerOptions = {},
  ): Promise<OnnxTrainer> {
    const ort: typeof Ort = await import("onnxruntime-node");
    const build: TrainGraphOptions = {
      trainable: opts.trainable,
      negPosRatio: opts.negPosRatio ?? 3,
      nchwcBlock: opts.nchwc === false ? 0 : await (blockProbe ??= nchwcBlock(ort)),
    };
    const { params } = buildTrainGraphs(graph, { ...build, nchwcBlock: 0 });
    const values = copyStateDict(stateDict);
    for (const { name } of params) {
      const t = values.get(name);
      if (t === undefined || t.dtype !== "float32") {
        throw new RangeError(
          `Cannot train in onnxruntime: the state dict has no float32 "${name}"`,
        );
      }
    }
    return new OnnxTrainer(ort, config, graph, build, values, opts);
  }

  /** The step graph and session for batches of `b` images, made on first use. */
  #step(b: number) {
    const key = this.#build.nchwcBlock ? b : 0;
    let step = this.#steps.get(key);
    if (step === undefined) {
      step = (async () => {
        const graphs = buildTrainGraphs(this.#graph, { ...this.#build, batch: key || undefined });
        const session = await this.#ort.InferenceSession.create(graphs.step, {
          ...(this.#threads ? { intraOpNumThreads: this.#threads } : {}),
          // with a memory pattern the second run allocates (and page-faults) every activation
          // again, as the first did: face-slim-320 at batch 16 took 2.7 s for each of runs 1 and
          // 2, 0.5 s from run 3 on; without one, run 2 is already at speed (the arena reuses run
          // 1's)
          enableMemPattern: false,
        });
        return { graphs, session };
      })();
      this.#steps.set(key, step);
    }
    return step;
  }

  /** The parameters and running statistics as they are now (copies). */
  stateDict(): StateDict {
    return copyStateDict(this.#values);
  }

  /**
   * The momentum buffers in the layout {@link Sgd.state} uses (tfjs variables': conv HWIO,
   * depthwise `[kH, kW, C, 1]`), so checkpoints are the same whichever engine trained.
   */
  optimizerState(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, buf] of this.#buffers) {
      const { torchShape, layout } = this.#spec.get(name)!;
      out.set(name, {
        shape: tfjsShape(torchShape, layout),
        data: relayout(buf, torchShape, layout, "tfjs"),
      });
    }
    return out;
  }

  /** Restores buffers saved by {@link optimizerState} (or {@link Sgd.state}). */
  loadOptimizerState(state: Map<string, { shape: number[]; data: Float32Array }>): void {
    for (const [name, s] of state) {
      const spec = this.#spec.get(name);
      if (spec === undefined || !this.#values.has(name)) continue;
      const expected = tfjsShape(spec.torchShape, spec.layout);
      if (s.shape.join() !== expected.join()) {
        throw new RangeError(
          `Cannot restore SGD state: buffer of ${name} has shape [${s.shape}], the parameter [${expected}]`,
        );
      }
      this.#buffers.set(name, relayout(s.data, spec.torchShape, spec.layout, "torch"));
    }
  }

  #tensor(name: string): Ort.Tensor {
    const t = this.#values.get(name)!;
    return new this.#ort.Tensor("float32", t.data as Float32Array, t.shape);
  }

  /**
   * Forward, loss and backward on `batch` in training mode. BatchNorm's running statistics
   * move (as a PyTorch forward in training mode moves them); the weights do not.
   */
  async gradients(batch: StepBatch, priors: tf.Tensor2D): Promise<OnnxGradients> {
    const cfg = this.config;
    const [h, w] = cfg.imageSize;
    const b = checkStepBatch(cfg, batch);
    const targets = matchTargets(
      priors,
      batch.boxes.map((boxes, i) => ({ boxes, labels: batch.labels[i] })),
      { variances: cfg.variances, numClasses: numClasses(cfg) },
    );
    const p = priors.shape[0];
    let locTargets: Float32Array, labels: Int32Array;
    try {
      locTargets = targets.locTargets.dataSync() as Float32Array;
      labels = targets.clsTargets.dataSync() as Int32Array;
    } finally {
      tf.dispose([targets.locTargets, targets.clsTargets]);
    }
    const Tensor = this.#ort.Tensor;
    const feeds: Record<string, Ort.Tensor> = {
      images: new Tensor("float32", batch.images, [b, h, w, 3]),
      loc_targets: new Tensor("float32", locTargets, [b, p, 4]),
      labels: new Tensor("int32", labels, [b, p]),
    };
    const { graphs, session } = await this.#step(b);
    for (const name of session.inputNames) {
      if (!(name in feeds)) feeds[name] = this.#tensor(name);
    }
    const out = await session.run(feeds);
    this.#updateRunningStats(graphs, out, b);
    const grads = new Map<string, Float32Array>();
    for (const name of session.outputNames) {
      if (name.startsWith("grad.")) grads.set(name.slice(5), out[name].data as Float32Array);
    }
    const scalar = (name: string) => (out[name].data as Float32Array)[0];
    return {
      loss: scalar("loss"),
      locLoss: scalar("loc_loss"),
      clsLoss: scalar("cls_loss"),
      numPositives: targets.numPositives,
      grads,
    };
  }

  /** PyTorch's update: running ← (1 − m)·running + m·batch (the variance unbiased); count + 1. */
  #updateRunningStats(
    graphs: TrainGraphs,
    out: Ort.InferenceSession.OnnxValueMapType,
    batch: number,
  ) {
    for (const { prefix, mean, variance, perImage } of graphs.batchNorms) {
      const m = this.#bnMomentum.get(prefix)!;
      const n = batch * perImage;
      const unbias = n > 1 ? n / (n - 1) : 1;
      const rm = this.#values.get(`${prefix}.running_mean`)?.data as Float32Array | undefined;
      const rv = this.#values.get(`${prefix}.running_var`)?.data as Float32Array | undefined;
      const bm = out[mean].data as Float32Array;
      const bv = out[variance].data as Float32Array;
      if (rm === undefined || rv === undefined) continue;
      for (let i = 0; i < rm.length; i++) {
        rm[i] = (1 - m) * rm[i] + m * bm[i];
        rv[i] = (1 - m) * rv[i] + m * bv[i] * unbias;
      }
      const counter = this.#values.get(`${prefix}.num_batches_tracked`);
      if (counter !== undefined) {
        const d = counter.data as BigInt64Array | Float32Array | Int32Array;
        if (d instanceof BigInt64Array) d[0] += 1n;
        else d[0] += 1;
      }
    }
  }

  /**
   * One SGD step on `batch` at learning rate `lr`. A non-finite loss or gradient leaves the
   * weights as they were (`finite: false`).
   */
  async step(
    batch: StepBatch,
    ctx: { priors: tf.Tensor2D; lr: number },
  ): Promise<StepResult> {
    const r = await this.gradients(batch, ctx.priors);
    let sq = 0;
    for (const g of r.grads.values()) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    const gradNorm = Math.sqrt(sq);
    const finite = Number.isFinite(r.loss) && Number.isFinite(gradNorm);
    if (finite) this.#sgd(r.grads, ctx.lr);
    const { loss, locLoss, clsLoss, numPositives } = r;
    return { loss, locLoss, clsLoss, numPositives, gradNorm, finite };
  }

  #sgd(grads: Map<string, Float32Array>, lr: number) {
    const { momentum: mu, weightDecay: wd } = this;
    for (const [name, g] of grads) {
      const p = this.#values.get(name)!.data as Float32Array;
      let buf = this.#buffers.get(name);
      const first = buf === undefined;
      if (buf === undefined) {
        buf = new Float32Array(p.length);
        if (mu > 0) this.#buffers.set(name, buf);
      }
      for (let i = 0; i < p.length; i++) {
        const d = Math.fround(g[i] + Math.fround(wd * p[i]));
        buf[i] = first || mu === 0 ? d : Math.fround(Math.fround(mu * buf[i]) + d);
        p[i] = Math.fround(p[i] - Math.fround(lr * buf[i]));
      }
    }
  }

  /** Releases the onnxruntime sessions. */
  async dispose(): Promise<void> {
    const steps = await Promise.allSettled(this.#steps.values());
    this.#steps.clear();
    for (const s of steps) if (s.status === "fulfilled") await s.value.session.release();
  }
}

/**
 * Moves a conv weight (or a buffer of its shape) between PyTorch's layout and the tfjs
 * variable's: conv OIHW ↔ HWIO, depthwise `[C, 1, kH, kW]` ↔ `[kH, kW, C, 1]`.
 */
function relayout(
  data: Float32Array,
  torchShape: number[],
  layout: Layout,
  to: "tfjs" | "torch",
): Float32Array {
  if (layout === "plain") return data.slice();
  const [o, i, kh, kw] = torchShape; // depthwise: i = 1, and [kH, kW, C, 1] is HWIO with I = C, O = 1
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const torch = ((a * i + b) * kh + y) * kw + x;
          const tfjs = layout === "conv" ? ((y * kw + x) * i + b) * o + a : (y * kw + x) * o + a;
          if (to === "tfjs") out[tfjs] = data[torch];
          else out[torch] = data[tfjs];
        }
      }
    }
  }
  return out;
}

/** A copy of every tensor of `sd` (shapes and data). */
function copyStateDict(sd: StateDict): StateDict {
  return new Map(
    [...sd].map((
      [name, t],
    ) => [name, { ...t, shape: [...t.shape], data: t.data.slice() } as TensorData]),
  );
}
