/**
 * Time of one SGD training step (`trainStep`: forward in training mode, matching, MultiBox loss
 * with hard negative mining, gradients, SGD momentum 0.9 / weight decay 5e-4) on one tfjs
 * backend, for random-weight models on seeded random images and boxes. Prints one JSON object
 * like `bench/torch_train_step.py`, plus the tensor count growth over the timed steps (a leak
 * shows as growth) and the process's CPU time per wall time (how many cores the step keeps busy). `--profile` also prints, on stderr, the kernels of one step by total time.
 *
 *   deno run -A bench/train_step_bench.ts [--backend wasm|cpu] [--threads 2] [--runs 5]
 *     [--batch 16] [--models tiny,face-slim-320] [--profile]
 */
import * as tf from "@tensorflow/tfjs-core";
import { getConfig, numClasses } from "../lib/config.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { priorsTensor } from "../lib/priors.ts";
import { Sgd } from "../lib/train/sgd.ts";
import { type StepBatch, trainStep } from "../lib/train/step.ts";
import { makeRng } from "../lib/data/rng.ts";
import { flag } from "../scripts/args.ts";
import process from "node:process";

const backend = flag("--backend", "wasm") as "wasm" | "cpu";
const threads = Number(flag("--threads", String(navigator.hardwareConcurrency)));
const runs = Number(flag("--runs", "5"));
const batch = Number(flag("--batch", "16"));
const names = flag("--models", "tiny,face-slim-320").split(",");
const profile = Deno.args.includes("--profile");

/** `batch` images of uniform noise in [−1, 1] and 1–4 boxes of 5–60 % of the side each. */
function randomBatch(h: number, w: number, classes: number, seed: number): StepBatch {
  const rand = makeRng(seed);
  const images = new Float32Array(batch * h * w * 3).map(() => 2 * rand() - 1); // [B, H, W, 3]
  const boxes: Float32Array[] = [], labels: Int32Array[] = [];
  for (let k = 0; k < batch; k++) {
    const g = 1 + Math.floor(rand() * 4);
    const b = new Float32Array(4 * g), l = new Int32Array(g); // [G, 4] xyxy, [G]
    for (let i = 0; i < g; i++) {
      const bw = 0.05 + rand() * 0.55, bh = 0.05 + rand() * 0.55;
      const x1 = rand() * (1 - bw), y1 = rand() * (1 - bh);
      b.set([x1, y1, x1 + bw, y1 + bh], 4 * i);
      l[i] = 1 + Math.floor(rand() * (classes - 1));
    }
    boxes.push(b);
    labels.push(l);
  }
  return { images, boxes, labels };
}

const info = await initBackend(backend, { threads, gradients: true });
const out: Record<string, unknown> = {
  backend: info.name,
  threads: info.threads,
  note: info.note,
  models: {} as Record<string, unknown>,
};
for (const name of names) {
  const cfg = getConfig(name);
  const model = buildModel(cfg, { seed: 1 }); // not 0: tfjs draws a random seed for seed 0
  const priors = priorsTensor(cfg); // [P, 4] cxcywh
  const sgd = new Sgd(model.params, { momentum: 0.9, weightDecay: 5e-4 });
  const data = randomBatch(cfg.imageSize[0], cfg.imageSize[1], numClasses(cfg), 7);
  const step = () => trainStep(model, data, { priors, optimizer: sgd, lr: 1e-3 });
  await step(); // warm-up: creates the momentum buffers, starts the thread pool
  const before = tf.memory().numTensors;
  const samples: number[] = [];
  let loss = NaN;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    loss = (await step()).loss;
    samples.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0); // µs, every thread of the process (the wasm pool's too)
  const busy = (cpu.user + cpu.system) / 1000 / samples.reduce((a, b) => a + b, 0);
  const growth = tf.memory().numTensors - before;
  if (profile) {
    const p = await tf.profile(async () => void (await step()));
    const byKernel = new Map<string, number>();
    for (const k of p.kernels) {
      byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    }
    const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
    console.error(`${name}: ${p.kernels.length} kernels, ${total.toFixed(0)} ms in kernels`);
    for (const [k, ms] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      console.error(`  ${k.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms`);
    }
  }
  samples.sort((a, b) => a - b);
  (out.models as Record<string, unknown>)[name] = {
    batch,
    ms: samples[Math.floor(samples.length / 2)],
    samples: samples.map((s) => Math.round(s)),
    loss,
    cpuPerWall: Math.round(busy * 100) / 100, // ≈ threads kept busy (2.0 = both of 2 cores)
    params: model.numParams(),
    tensorGrowth: growth,
  };
  sgd.dispose();
  priors.dispose();
  model.dispose();
}
console.log(JSON.stringify(out));
