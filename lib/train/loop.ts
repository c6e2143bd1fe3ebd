/**
 * The training loop of the SSD recipe as a library function: epochs of augmented batches
 * (`createLoader`), one {@link trainStep} per batch with the scheduled learning rate, the
 * epoch's mean losses in `metrics.csv`, validation at evaluation settings every `valEvery`
 * epochs, `last.safetensors` at every epoch end (and on a stop), `best.safetensors` when the
 * validation mAP improves, and pictures: the first augmented batch, loss and mAP curves, and
 * drawn validation images.
 *
 * A run is a pure function of its options and seed: loader order and augmentation come from
 * (seed, epoch, sample), so a run stopped after any step and resumed from its checkpoint gives
 * the weights of a run that was never stopped.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SsdModel } from "../model/ssd.ts";
import type { Dataset } from "../data/types.ts";
import { createLoader } from "../data/loader.ts";
import { priorsTensor } from "../priors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { learningRate, type ScheduleKind } from "./schedule.ts";
import { Sgd } from "./sgd.ts";
import { trainStep } from "./step.ts";
import { OnnxTrainer } from "../engine/onnx_trainer.ts";
import { type Checkpoint, type MetricRow, saveCheckpoint, type TrainState } from "./checkpoint.ts";
import { validate, type ValidationResult } from "./validate.ts";
import { drawBatchMosaic } from "./pictures.ts";
import { drawCurves } from "./curves.ts";

/** Hyper-parameters of a run; every default is the command's. */
export interface TrainConfig {
  /** Epochs over the training set (ignored when `iterations` is given). */
  epochs: number;
  /** Total optimizer steps; overrides `epochs`. */
  iterations?: number;
  batchSize: number;
  /** Base learning rate. */
  lr: number;
  schedule: ScheduleKind;
  /** Linear warmup steps (factor 0.001 → 1). */
  warmupSteps: number;
  /** multistep milestones as fractions of the total steps. Default [2/3, 11/12] (torchvision 80, 110 of 120 epochs). */
  milestones?: number[];
  momentum: number;
  weightDecay: number;
  seed: number;
  /** Loader Web Workers. */
  workers: number;
  /** The paper's augmentation. */
  augment: boolean;
  /** Validate every this many epochs (and after the last). 0: only after the last. */
  valEvery: number;
  /** Parameter names (prefixes) left out of the optimizer. */
  frozen: string[];
  /**
   * What runs the training steps and validation: `tfjs` (the current backend; default) or
   * `onnx` ({@link OnnxTrainer}: the whole step as one ONNX graph in onnxruntime; validation on
   * the model exported in memory). Both give PyTorch's steps; checkpoints are the same either
   * way, so a run may resume on the other engine.
   */
  engine?: "tfjs" | "onnx";
}

/** Progress of one step, for the callbacks. */
export interface StepInfo {
  epoch: number;
  /** Steps done, this one included. */
  step: number;
  totalSteps: number;
  epochs: number;
  /** Batch index within the epoch (0-based) and batches per epoch. */
  batch: number;
  batchesPerEpoch: number;
  loss: number;
  locLoss: number;
  clsLoss: number;
  lr: number;
  /** Images per second over this session's steps. */
  imagesPerSecond: number;
  /** Seconds left at this session's speed (validation not counted). */
  etaSeconds: number;
  /** Live tfjs tensors after the step (flat over a run unless something leaks). */
  tensors: number;
}

/** Hooks a caller (the CLI) uses to show progress. */
export interface TrainCallbacks {
  onStep?: (info: StepInfo) => void;
  onEpoch?: (row: MetricRow) => void;
  onValidationStart?: (epoch: number, images: number) => void;
  /** After each validation, with its result (per-class report included). */
  onValidation?: (epoch: number, result: ValidationResult) => void;
  onValidationProgress?: (done: number, total: number) => void;
  onCheckpoint?: (path: string) => void;
}

/** What {@link train} needs. */
export interface TrainRun {
  /** The network to train (its config's classes are the dataset's). */
  model: SsdModel;
  data: Dataset;
  val?: Dataset;
  /** The run's folder (exists). */
  runDir: string;
  config: TrainConfig;
  /** Continue from this checkpoint (weights already loaded into `model` by the caller or here). */
  resume?: Checkpoint;
  /** Aborting stops after the current step, with `last.safetensors` written. */
  signal?: AbortSignal;
  callbacks?: TrainCallbacks;
}

/** How a run ended. */
export interface TrainResult {
  state: TrainState;
  /** True when stopped by the signal before the last step. */
  stopped: boolean;
  last: string;
  /** `best.safetensors`, when a validation ran. */
  best?: string;
}

/** A NaN or infinite loss: training stops, the last good checkpoint stays. */
export class DivergedError extends Error {
  constructor(
    readonly step: number,
    readonly ids: string[],
    readonly last: string | undefined,
  ) {
    const shown = ids.slice(0, 8).join(", ") + (ids.length > 8 ? `, … (${ids.length})` : "");
    super(
      `step ${step}: the loss is not finite (batch: ${shown}); training stopped` +
        (last ? `, the last good checkpoint is ${last}` : ", no checkpoint was written yet"),
    );
    this.name = "DivergedError";
  }
}

/** Steps of the whole run and per epoch. */
export function runLength(
  numImages: number,
  cfg: Pick<TrainConfig, "epochs" | "iterations" | "batchSize">,
): { batchesPerEpoch: number; totalSteps: number; epochs: number } {
  const batchesPerEpoch = Math.max(1, Math.floor(numImages / cfg.batchSize));
  const totalSteps = cfg.iterations ?? cfg.epochs * batchesPerEpoch;
  return { batchesPerEpoch, totalSteps, epochs: Math.ceil(totalSteps / batchesPerEpoch) };
}

const CSV_COLUMNS: (keyof MetricRow)[] = [
  "epoch",
  "step",
  "loss",
  "locLoss",
  "clsLoss",
  "lr",
  "seconds",
  "mapVoc07",
  "mapVoc",
  "apCoco",
];

function metricsCsv(rows: MetricRow[]): string {
  const cell = (v: number | undefined) =>
    v === undefined ? "" : Number.isInteger(v) ? String(v) : v.toPrecision(6);
  return [CSV_COLUMNS.join(","), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(","))]
    .join("\n") + "\n";
}

/**
 * Trains `run.model` in place. Writes into `run.runDir`: `last.safetensors`, `best.safetensors`,
 * `metrics.csv`, `curves.png`, `train_batch0.png`, `val/*.png`.
 *
 * @throws {DivergedError} on a NaN or infinite loss (the weights of the last checkpoint stay).
 */
export async function train(run: TrainRun): Promise<TrainResult> {
  const { model, data, val, runDir, config: c, callbacks: cb = {} } = run;
  const cfg = model.config;
  if (data.samples.length < c.batchSize) {
    throw new RangeError(
      `Cannot train: the training set has ${data.samples.length} images, fewer than the batch size ${c.batchSize}`,
    );
  }
  const { batchesPerEpoch, totalSteps, epochs } = runLength(data.samples.length, c);
  const milestones = (c.milestones ?? [2 / 3, 11 / 12]).map((f) => Math.round(f * totalSteps));
  const schedule = {
    baseLr: c.lr,
    totalSteps,
    schedule: c.schedule,
    warmupSteps: c.warmupSteps,
    milestones,
  };
  const params = new Map(
    [...model.params].filter(([name]) => !c.frozen.some((p) => name.startsWith(p))),
  );
  const optimizer = new Sgd(params, { momentum: c.momentum, weightDecay: c.weightDecay });
  const state: TrainState = run.resume?.state ?? {
    step: 0,
    epoch: 0,
    batch: 0,
    seed: c.seed,
    bestMap: -1,
    seconds: 0,
    epochSums: { loss: 0, locLoss: 0, clsLoss: 0, steps: 0 },
    history: [],
  };
  if (run.resume) optimizer.loadState(run.resume.optimizer);
  // with the onnx engine the trainer holds the weights and buffers while steps run; the model
  // and `optimizer` are brought up to date before each validation and checkpoint
  const onnx = c.engine === "onnx"
    ? await OnnxTrainer.create(model.graph, cfg, model.stateDict(), {
      momentum: c.momentum,
      weightDecay: c.weightDecay,
      trainable: new Set(params.keys()),
      // onnxruntime on the cores the loader's workers leave: on 2 cores with 2 workers, one
      // thread trained tiny 3 % and face-slim-320 (raccoon) 12 % faster than two
      threads: Math.max(1, (navigator.hardwareConcurrency ?? 1) - c.workers),
    })
    : undefined;
  if (onnx && run.resume) onnx.loadOptimizerState(run.resume.optimizer);
  const sync = () => {
    if (!onnx) return;
    model.loadStateDict(onnx.stateDict());
    optimizer.loadState(onnx.optimizerState());
  };
  const sums = state.epochSums;
  const loader = createLoader(data, {
    batchSize: c.batchSize,
    imageSize: cfg.imageSize,
    mean: cfg.preprocess.mean,
    std: cfg.preprocess.std,
    augment: c.augment,
    shuffle: true,
    seed: c.seed,
    workers: c.workers,
    dropLast: true,
  });
  const priors = priorsTensor(cfg);
  const last = `${runDir}/last.safetensors`;
  const best = `${runDir}/best.safetensors`;
  let wroteLast = run.resume !== undefined;
  let bestWritten = state.bestMap >= 0;
  const sessionStart = performance.now();
  const secondsAtStart = state.seconds;
  const stepAtStart = state.step;
  let stopped = false;

  const checkpoint = async () => {
    state.seconds = secondsAtStart + (performance.now() - sessionStart) / 1000;
    sync();
    await saveCheckpoint(last, model, optimizer, state);
    wroteLast = true;
    cb.onCheckpoint?.(last);
  };

  try {
    outer: while (state.step < totalSteps) {
      const epoch = state.epoch;
      for await (const batch of loader.epoch(epoch, state.batch)) {
        if (state.step === 0) {
          await drawBatchMosaic(batch, {
            mean: cfg.preprocess.mean,
            std: cfg.preprocess.std,
            classes: cfg.classes,
            path: `${runDir}/train_batch0.png`,
          });
        }
        const lr = learningRate(state.step, schedule);
        const r = onnx
          ? await onnx.step(batch, { priors, lr })
          : await trainStep(model, batch, { priors, optimizer, lr });
        if (!r.finite) {
          throw new DivergedError(state.step + 1, batch.ids, wroteLast ? last : undefined);
        }
        state.step++;
        state.batch++;
        sums.loss += r.loss;
        sums.locLoss += r.locLoss;
        sums.clsLoss += r.clsLoss;
        sums.steps++;
        const elapsed = (performance.now() - sessionStart) / 1000;
        const done = state.step - stepAtStart;
        cb.onStep?.({
          epoch,
          step: state.step,
          totalSteps,
          epochs,
          batch: state.batch - 1,
          batchesPerEpoch,
          loss: r.loss,
          locLoss: r.locLoss,
          clsLoss: r.clsLoss,
          lr,
          imagesPerSecond: (done * c.batchSize) / Math.max(elapsed, 1e-9),
          etaSeconds: (elapsed / done) * (totalSteps - state.step),
          tensors: tf.memory().numTensors,
        });
        if (state.step >= totalSteps || run.signal?.aborted) break;
      }
      const epochDone = state.batch >= batchesPerEpoch || state.step >= totalSteps;
      if (epochDone) {
        const row: MetricRow = {
          epoch: epoch + 1,
          step: state.step,
          loss: sums.loss / Math.max(1, sums.steps),
          locLoss: sums.locLoss / Math.max(1, sums.steps),
          clsLoss: sums.clsLoss / Math.max(1, sums.steps),
          lr: learningRate(state.step - 1, schedule),
          seconds: secondsAtStart + (performance.now() - sessionStart) / 1000,
        };
        const isLast = state.step >= totalSteps;
        const due = isLast || (c.valEvery > 0 && (epoch + 1) % c.valEvery === 0);
        let result: ValidationResult | undefined;
        if (val && due) {
          sync();
          cb.onValidationStart?.(epoch + 1, val.samples.length);
          result = await validate(model, val, {
            engine: c.engine ?? "tfjs",
            drawDir: `${runDir}/val`,
            onProgress: cb.onValidationProgress,
          });
          Object.assign(row, result.metrics);
          cb.onValidation?.(epoch + 1, result);
        }
        state.history.push(row);
        state.epoch = epoch + 1;
        state.batch = 0;
        Object.assign(sums, { loss: 0, locLoss: 0, clsLoss: 0, steps: 0 });
        const improved = result !== undefined && result.score > state.bestMap;
        if (improved) state.bestMap = result!.score;
        await checkpoint();
        if (improved) {
          await saveCheckpoint(best, model, optimizer, state);
          bestWritten = true;
          cb.onCheckpoint?.(best);
        }
        await writeFileAtomic(`${runDir}/metrics.csv`, metricsCsv(state.history));
        await drawCurves(
          state.history.map((r) => ({ ...r, mAP: r.mapVoc })),
          `${runDir}/curves.png`,
        );
        cb.onEpoch?.(row);
      }
      if (run.signal?.aborted && state.step < totalSteps) {
        if (!epochDone) await checkpoint();
        stopped = true;
        break outer;
      }
    }
  } finally {
    loader.close();
    priors.dispose();
    optimizer.dispose();
    await onnx?.dispose();
  }
  return { state, stopped, last, best: bestWritten ? best : undefined };
}
