import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { registerTrainingGradients } from "../lib/engine/gradients.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { readSafetensors } from "../lib/io/safetensors.ts";
import {
  compareStateDicts,
  type Expected,
  genPath,
  MISSING,
  readBatches,
  relErr,
  type StepRecord,
} from "./train_fixtures.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { priorsTensor } from "../lib/priors.ts";
import { Sgd } from "../lib/train/sgd.ts";
import { trainStep } from "../lib/train/step.ts";
import { useBackend } from "./model_helpers.ts";
import { webGpuAdapter } from "./webgpu_helpers.ts";

// trainStep + Sgd against PyTorch: the same initial weights, batches and priors, torchvision's
// SSDMatcher and SSD.compute_loss, torch.optim.SGD(momentum 0.9, weight decay 5e-4), BatchNorm
// in training mode. Made by fixtures/train/make_train_fixtures.py into generated/ (~16 MB, not
// committed; .ci/run makes it). Tolerances:
// - step 1's loss, loc and cls parts: |ours − torch| ≤ 1e-4·|torch|;
// - every tensor of the state dict after step 1 (weights, biases, BatchNorm affine parameters
//   and running statistics): max |ours − torch| / max(1, |torch|) ≤ 1e-4; the counters exact;
// - the loss of each of 20 steps (a second run from the initial weights, at a rate low enough
//   that float32 rounding is not amplified: see the fixture script): ≤ 1e-3·|torch|.
// Runtime: on the cpu backend a tiny step takes ~1–3 s and a face-slim step ~5–13 s, so the cpu
// backend runs tiny only, and the first 5 steps of its curve (steps 2–5 already check the
// momentum); wasm runs everything (5–15 s per model). Set TRAIN_PARITY_LOG=1 to print the
// measured differences.
if (MISSING) {
  console.warn(
    "skipping the training parity tests: fixtures/train/generated/ is missing; make it with " +
      "/usr/bin/python3 fixtures/train/make_train_fixtures.py (needs python3-torchvision)",
  );
}

if (webGpuAdapter === null) {
  console.log("no WebGPU adapter: the webgpu training parity case is skipped");
}

const CASES: { model: string; backend: "cpu" | "wasm" | "webgpu"; steps: number }[] = [
  { model: "tiny", backend: "cpu", steps: 5 },
  { model: "tiny", backend: "wasm", steps: 20 },
  { model: "face-slim-320", backend: "wasm", steps: 20 },
  // any adapter, a software one too (slow, but the numbers are the GPU path's)
  { model: "tiny", backend: "webgpu", steps: 5 },
];

for (const { model: name, backend, steps } of CASES) {
  Deno.test({
    name: `trainStep() on ${backend} equals PyTorch's SGD steps of ${name} ` +
      `(loss, weights, running statistics, ${steps}-step curve)`,
    ignore: MISSING || (backend === "webgpu" && webGpuAdapter === null),
    sanitizeOps: backend !== "webgpu", // the WebGPU device lives on after the test
    sanitizeResources: backend !== "webgpu",
  }, async () => {
    if (backend === "webgpu") await initBackend("webgpu");
    else await useBackend(backend);
    await registerTrainingGradients();
    const e: Expected = JSON.parse(await Deno.readTextFile(genPath(`${name}_expected.json`)));
    const batches = await readBatches(name, e);
    const init = (await readSafetensors(genPath(`${name}_init.safetensors`))).tensors;
    const step1 = (await readSafetensors(genPath(`${name}_step1.safetensors`))).tensors;
    const dumped: number[][] = JSON.parse(await Deno.readTextFile(genPath(`priors_${name}.json`)));

    const cfg = getConfig(name);
    const model = buildModel(cfg, { seed: 1 });
    const priors = priorsTensor(cfg);
    const opts = { momentum: e.momentum, weightDecay: e.weightDecay };
    const run = async (sgd: Sgd, s: number, lr: number) => {
      const batch = batches[e.curve.schedule[s]];
      const r = await trainStep(model, batch, {
        priors,
        optimizer: sgd,
        lr,
        negPosRatio: e.negPosRatio,
      });
      assert.ok(r.finite, `step ${s + 1}: loss ${r.loss}`);
      return r;
    };
    let sgd = new Sgd(model.params, opts);
    try {
      // PyTorch matched against these priors: they must be the ones the step uses.
      assert.deepEqual(Array.from(await priors.data()), dumped.flat().map(Math.fround));

      // One step at the step-1 rate.
      model.loadStateDict(init);
      const first = await run(sgd, 0, e.step1.lr);
      const weights = compareStateDicts(await model.stateDictAsync(), step1);
      const loss1 = Math.max(
        relErr(first.loss, e.step1.loss),
        relErr(first.locLoss, e.step1.locLoss),
        relErr(first.clsLoss, e.step1.clsLoss),
      );

      // The curve: steps at the curve rate, from the initial weights with fresh momentum buffers.
      sgd.dispose();
      sgd = new Sgd(model.params, opts);
      model.loadStateDict(init);
      const curve: StepRecord[] = [];
      const counts: number[] = [];
      for (let s = 0; s < steps; s++) {
        curve.push(await run(sgd, s, e.curve.lr));
        counts.push(tf.memory().numTensors);
      }
      const curveErr = Math.max(...curve.map((r, s) => relErr(r.loss, e.curve.steps[s].loss)));

      if (Deno.env.get("TRAIN_PARITY_LOG")) {
        console.log(
          `${name}/${backend}: step 1 loss rel ${loss1.toExponential(2)}, state dict rel ` +
            `${weights.rel.toExponential(2)} (${weights.name}), curve rel ${
              curveErr.toExponential(2)
            }`,
        );
      }
      assert.equal(first.numPositives, e.step1.numPositives);
      assert.ok(
        loss1 <= 1e-4,
        `step 1 loss: ${JSON.stringify(first)} vs ${JSON.stringify(e.step1)}`,
      );
      assert.ok(weights.rel <= 1e-4, `after step 1: ${weights.name} differs by ${weights.rel}`);
      const expected = e.curve.steps.slice(0, steps);
      assert.deepEqual(curve.map((r) => r.numPositives), expected.map((r) => r.numPositives));
      assert.ok(
        curveErr <= 1e-3,
        `loss curve rel ${curveErr}: ${curve.map((r) => r.loss)} vs ${expected.map((r) => r.loss)}`,
      );
      // Step 1 creates the momentum buffers (one per parameter); after it nothing may grow.
      assert.ok(counts.every((n) => n === counts[0]), `numTensors per step: ${counts}`);
    } finally {
      sgd.dispose();
      priors.dispose();
      model.dispose();
      if (backend === "webgpu") await initBackend("cpu");
    }
  });
}
