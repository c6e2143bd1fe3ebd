/**
 * The PyTorch training fixtures (`fixtures/train/make_train_fixtures.py` → `generated/`) as the
 * parity tests read them: the expected losses, the batches, and a state-dict comparison.
 */
import assert from "node:assert/strict";
import { readSafetensors } from "../lib/io/safetensors.ts";
import type { StateDict } from "../lib/io/state_dict.ts";
import type { StepBatch } from "../lib/train/step.ts";
import { maxDiff } from "./model_helpers.ts";

const GEN = new URL("../fixtures/train/generated/", import.meta.url);

/** Path of a generated fixture file. */
export const genPath = (file: string): string => decodeURIComponent(new URL(file, GEN).pathname);

/** True when the generated fixtures are absent (no torchvision where they would be made). */
export const MISSING: boolean = await Deno.stat(new URL("manifest.json", GEN)).then(
  () => false,
  () => true,
);

/** The losses of one PyTorch step. */
export interface StepRecord {
  loss: number;
  locLoss: number;
  clsLoss: number;
  numPositives: number;
}

/** `{model}_expected.json`. */
export interface Expected {
  batchSize: number;
  numBatches: number;
  momentum: number;
  weightDecay: number;
  negPosRatio: number;
  step1: StepRecord & { lr: number };
  curve: { lr: number; schedule: number[]; steps: StepRecord[] };
}

/** The fixture's batches as a training step takes them. */
export async function readBatches(model: string, e: Expected): Promise<StepBatch[]> {
  const { tensors } = await readSafetensors(genPath(`${model}_batches.safetensors`));
  const get = (name: string) => {
    const t = tensors.get(name);
    assert.ok(t, `${model}_batches.safetensors has no ${name}`);
    return t.data;
  };
  return Array.from({ length: e.numBatches }, (_, k) => {
    const idx = Array.from({ length: e.batchSize }, (_, i) => i);
    return {
      images: get(`batch${k}.images`) as Float32Array,
      boxes: idx.map((i) => get(`batch${k}.boxes.${i}`) as Float32Array),
      labels: idx.map((i) => get(`batch${k}.labels.${i}`) as Int32Array),
    };
  });
}

/** Worst max |a − b| / max(1, |b|) over every float tensor; counters must be equal. */
export function compareStateDicts(
  ours: StateDict,
  torch: StateDict,
): { rel: number; name: string } {
  assert.deepEqual([...ours.keys()].sort(), [...torch.keys()].sort());
  let worst = { rel: 0, name: "" };
  for (const [name, t] of torch) {
    const o = ours.get(name)!;
    assert.deepEqual(o.shape, t.shape, name);
    if (t.dtype === "int64") {
      assert.deepEqual([...o.data], [...t.data], name);
      continue;
    }
    const { rel } = maxDiff(o.data as Float32Array, t.data as Float32Array);
    if (rel > worst.rel) worst = { rel, name };
  }
  return worst;
}

/** |a − b| / |b|. */
export const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
