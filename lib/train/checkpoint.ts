/**
 * Training checkpoints: one `.safetensors` file holding the model's state dict (PyTorch names
 * and layout, BatchNorm statistics and `num_batches_tracked` included, so `ssd detect --model`
 * loads it as it is), the SGD momentum buffers (`optimizer.momentum_buffer.<name>`, tfjs
 * layout), and in `__metadata__` the config, class names, prior hash and the training state:
 * step, epoch, next batch, seed, best validation mAP and the metric history. The loader's
 * order and augmentation are functions of (seed, epoch, sample), so that is its whole RNG state.
 *
 * Files are written to a temporary name and renamed: a run killed mid-write leaves the previous
 * checkpoint whole.
 *
 * @module
 */
import type { ModelConfig } from "../config.ts";
import { FileError } from "../errors.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import type { StateDict } from "../io/state_dict.ts";
import { weightsMetadata } from "../model/weights_metadata.ts";
import type { SsdModel } from "../model/ssd.ts";
import type { Sgd } from "./sgd.ts";

/** Prefix of the optimizer's tensors in a checkpoint; `loadModel` leaves them out. */
export const OPTIMIZER_PREFIX = "optimizer.momentum_buffer.";

/** One row of `metrics.csv`: an epoch's mean losses and, when validated, its mAP. */
export interface MetricRow {
  epoch: number;
  /** Optimizer steps taken by the end of the epoch. */
  step: number;
  loss: number;
  locLoss: number;
  clsLoss: number;
  lr: number;
  /** Seconds since the run started (summed over resumed sessions). */
  seconds: number;
  /** VOC07 11-point mAP@0.5 on the validation set. */
  mapVoc07?: number;
  /** VOC all-point mAP@0.5 (AP50) on the validation set. */
  mapVoc?: number;
  /** COCO AP@[.5:.95], for COCO validation sets. */
  apCoco?: number;
}

/** Where a run stands. */
export interface TrainState {
  /** Optimizer steps done. */
  step: number;
  /** Epoch of the next batch (0-based). */
  epoch: number;
  /** Index of the next batch within that epoch. */
  batch: number;
  /** The run's seed (loader order, augmentation, initial weights). */
  seed: number;
  /** Best validation mAP so far (−1 before any validation). */
  bestMap: number;
  /** Seconds trained so far. */
  seconds: number;
  /** Sums of the current epoch's step losses so far (its row is their mean). */
  epochSums: { loss: number; locLoss: number; clsLoss: number; steps: number };
  history: MetricRow[];
}

/** Writes a checkpoint of `model`, `optimizer` and `state` to `path` (temp file, then rename). */
export async function saveCheckpoint(
  path: string,
  model: SsdModel,
  optimizer: Sgd,
  state: TrainState,
): Promise<void> {
  const cfg = model.config;
  const tensors: StateDict = await model.stateDictAsync();
  for (const [name, b] of await optimizer.stateAsync()) {
    tensors.set(`${OPTIMIZER_PREFIX}${name}`, { dtype: "float32", shape: b.shape, data: b.data });
  }
  await writeSafetensors(
    path,
    tensors,
    weightsMetadata(cfg, {
      layout: "pytorch state dict names, conv weights OIHW, float32; optimizer buffers tfjs layout",
      train_state: JSON.stringify(state),
    }),
  );
}

/** A checkpoint read back. */
export interface Checkpoint {
  config: ModelConfig;
  /** Model weights only (no optimizer tensors). */
  stateDict: StateDict;
  /** Momentum buffers by parameter name. */
  optimizer: Map<string, { shape: number[]; data: Float32Array }>;
  state: TrainState;
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}.
 *
 * @throws {FileError} when the file is unreadable or not a training checkpoint.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  if (!metadata.train_state || !metadata.config) {
    throw new FileError(path, "not a training checkpoint (no train_state in its metadata)");
  }
  let config: ModelConfig, state: TrainState;
  try {
    config = JSON.parse(metadata.config);
    state = JSON.parse(metadata.train_state);
  } catch {
    throw new FileError(path, "the checkpoint's metadata is not valid JSON");
  }
  if (!Number.isInteger(state.step) || !Number.isInteger(state.epoch)) {
    throw new FileError(path, "the checkpoint's train_state has no step or epoch");
  }
  const stateDict: StateDict = new Map();
  const optimizer = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) {
    if (name.startsWith(OPTIMIZER_PREFIX)) {
      optimizer.set(name.slice(OPTIMIZER_PREFIX.length), {
        shape: t.shape,
        data: t.data as Float32Array,
      });
    } else stateDict.set(name, t);
  }
  return { config, stateDict, optimizer, state };
}
