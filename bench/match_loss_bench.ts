/**
 * Times `matchTargets` and `multiboxLoss` (value, and value with gradients) on one tfjs
 * backend: batch 8, the 8732 ssd300-coco priors, about 5 seeded ground-truth boxes per image,
 * 91 classes. Prints one JSON object: median ms of each, and the tensor growth over the runs.
 *
 *   deno run -A bench/match_loss_bench.ts [--backend wasm|webgpu|cpu] [--threads 1]
 *     [--runs 10] [--batch 8]
 */
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { type GroundTruth, matchTargets } from "../lib/match.ts";
import { multiboxLoss } from "../lib/loss.ts";
import { priorsTensor } from "../lib/priors.ts";
import { flag } from "../scripts/args.ts";
import { makeRng } from "../lib/data/rng.ts";

const backend = flag("--backend", "wasm") as "wasm" | "webgpu" | "cpu";
const runs = Number(flag("--runs", "10"));
const batch = Number(flag("--batch", "8"));
const threads = Number(flag("--threads", "1"));

const info = await initBackend(backend, { threads, gradients: true });
const cfg = getConfig("ssd300-coco");
const priors = priorsTensor(cfg); // [P, 4] cxcywh
const p = priors.shape[0], c = 91;
const rand = makeRng(2024);
const targets: GroundTruth[] = [];
for (let k = 0; k < batch; k++) {
  const g = 3 + Math.floor(rand() * 5); // 3 … 7, about 5
  const boxes: number[] = [], labels: number[] = [];
  for (let i = 0; i < g; i++) {
    const w = 0.05 + rand() * 0.5, h = 0.05 + rand() * 0.5;
    const x1 = rand() * (1 - w), y1 = rand() * (1 - h);
    boxes.push(x1, y1, x1 + w, y1 + h);
    labels.push(1 + Math.floor(rand() * (c - 1)));
  }
  targets.push({ boxes, labels });
}
const locPred = tf.randomNormal([batch, p, 4], 0, 1.5, "float32", 1) as tf.Tensor3D;
const clsLogits = tf.randomNormal([batch, p, c], 0, 2, "float32", 2) as tf.Tensor3D;

async function time(f: () => Promise<void>): Promise<{ ms: number; tensorGrowth: number }> {
  await f(); // warm-up: compiles kernels, fills caches
  const before = tf.memory().numTensors;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return {
    ms: +samples[Math.floor(samples.length / 2)].toFixed(1),
    tensorGrowth: tf.memory().numTensors - before,
  };
}

const t = matchTargets(priors, targets);
const out = {
  backend: info.name,
  threads: info.threads,
  batch,
  priors: p,
  gtPerImage: +(targets.reduce((n, x) => n + x.labels.length, 0) / batch).toFixed(2),
  numPositives: t.numPositives,
  matchTargets: await time(async () => {
    const m = matchTargets(priors, targets);
    await Promise.all([m.locTargets.data(), m.clsTargets.data()]);
    tf.dispose([m.locTargets, m.clsTargets]);
  }),
  loss: await time(async () => {
    const l = multiboxLoss({ locPred, clsLogits }, t);
    await l.loss.data();
    tf.dispose([l.loss, l.locLoss, l.clsLoss]);
  }),
  lossAndGrads: await time(async () => {
    const grads = tf.grads((l: tf.Tensor, g: tf.Tensor) =>
      multiboxLoss({ locPred: l as tf.Tensor3D, clsLogits: g as tf.Tensor3D }, t).loss
    )([locPred, clsLogits]);
    await Promise.all(grads.map((g) => g.data()));
    tf.dispose(grads);
  }),
};
console.log(JSON.stringify(out));
tf.dispose([priors, locPred, clsLogits, t.locTargets, t.clsTargets]);
