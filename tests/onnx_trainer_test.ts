import assert from "node:assert/strict";
import { getConfig } from "../lib/config.ts";
import { OnnxTrainer } from "../lib/engine/onnx_trainer.ts";
import { buildTrainGraphs } from "../lib/engine/onnx_train_graph.ts";
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
import { describeNetwork } from "../lib/model/network.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { priorsTensor } from "../lib/priors.ts";
import { maxDiff, useBackend } from "./model_helpers.ts";

// The onnxruntime training step (lib/engine/onnx_trainer.ts) against PyTorch, with the fixtures
// of tests/train_parity_test.ts (fixtures/train/make_train_fixtures.py: the same initial
// weights, batches and priors, torchvision's matcher and loss, torch.optim.SGD with momentum 0.9
// and weight decay 5e-4, BatchNorm in training mode) and its tolerances: step 1's loss ≤ 1e-4
// relative, every state-dict tensor after step 1 ≤ 1e-4 of max(1, |torch|), the counters exact,
// and a 20-step loss curve ≤ 1e-3 relative. The loss and mining run in the ONNX graph too.
if (MISSING) {
  console.warn(
    "skipping the onnxruntime training parity tests: fixtures/train/generated/ is missing; make " +
      "it with /usr/bin/python3 fixtures/train/make_train_fixtures.py (needs python3-torchvision)",
  );
}

// Both lowerings: onnxruntime's NCHWc kernels where this machine has them (the default), and
// ONNX's own Conv (what a machine without them runs).
for (
  const [name, nchwc] of [["tiny", true], ["face-slim-320", true], ["tiny", false], [
    "face-slim-320",
    false,
  ]] as const
) {
  Deno.test({
    name: `OnnxTrainer.step() equals PyTorch's SGD steps of ${name}${
      nchwc ? "" : " without NCHWc"
    } (loss, weights, running statistics, 20-step curve)`,
    ignore: MISSING,
  }, async () => {
    await useBackend("cpu");
    const e: Expected = JSON.parse(await Deno.readTextFile(genPath(`${name}_expected.json`)));
    const batches = await readBatches(name, e);
    const init = (await readSafetensors(genPath(`${name}_init.safetensors`))).tensors;
    const step1 = (await readSafetensors(genPath(`${name}_step1.safetensors`))).tensors;
    const cfg = getConfig(name);
    const graph = describeNetwork(cfg);
    const priors = priorsTensor(cfg);
    const opts = {
      momentum: e.momentum,
      weightDecay: e.weightDecay,
      negPosRatio: e.negPosRatio,
      nchwc,
    };
    const run = async (t: OnnxTrainer, s: number, lr: number) => {
      const r = await t.step(batches[e.curve.schedule[s]], { priors, lr });
      assert.ok(r.finite, `step ${s + 1}: loss ${r.loss}`);
      return r;
    };
    try {
      let trainer = await OnnxTrainer.create(graph, cfg, init, opts);
      const first = await run(trainer, 0, e.step1.lr);
      const weights = compareStateDicts(trainer.stateDict(), step1);
      await trainer.dispose();
      const loss1 = Math.max(
        relErr(first.loss, e.step1.loss),
        relErr(first.locLoss, e.step1.locLoss),
        relErr(first.clsLoss, e.step1.clsLoss),
      );
      trainer = await OnnxTrainer.create(graph, cfg, init, opts);
      const curve: StepRecord[] = [];
      for (let s = 0; s < e.curve.steps.length; s++) curve.push(await run(trainer, s, e.curve.lr));
      await trainer.dispose();
      const curveErr = Math.max(...curve.map((r, s) => relErr(r.loss, e.curve.steps[s].loss)));
      console.log(
        `${name}/onnxruntime${nchwc ? "" : " without NCHWc"}: step 1 loss rel ${
          loss1.toExponential(2)
        }, state dict rel ` +
          `${weights.rel.toExponential(2)} (${weights.name}), curve rel ${
            curveErr.toExponential(2)
          }`,
      );
      assert.equal(first.numPositives, e.step1.numPositives);
      assert.ok(
        loss1 <= 1e-4,
        `step 1 loss: ${JSON.stringify(first)} vs ${JSON.stringify(e.step1)}`,
      );
      assert.ok(weights.rel <= 1e-4, `after step 1: ${weights.name} differs by ${weights.rel}`);
      assert.deepEqual(curve.map((r) => r.numPositives), e.curve.steps.map((r) => r.numPositives));
      assert.ok(curveErr <= 1e-3, `loss curve rel ${curveErr}`);
    } finally {
      priors.dispose();
    }
  });
}

Deno.test("buildTrainGraphs() refuses an op it has no gradient for, by name", () => {
  assert.throws(
    () => buildTrainGraphs(describeNetwork(getConfig("ssdlite320"))),
    /Cannot train mobilenet_v3_large in onnxruntime: its graph has a (hardSwish|globalAvgPool|hardSigmoid|mul|relu6) node/,
  );
});

Deno.test("OnnxTrainer with a frozen backbone: only the others get gradients, and the same ones", async () => {
  await useBackend("cpu");
  const cfg = getConfig("tiny");
  const model = buildModel(cfg, { seed: 3 });
  const priors = priorsTensor(cfg);
  const heads = new Set([...model.params.keys()].filter((n) => !n.startsWith("backbone.")));
  const batch = {
    images: new Float32Array(2 * 160 * 160 * 3).map((_, i) => Math.sin(i) * 0.5),
    boxes: [Float32Array.of(0.1, 0.2, 0.5, 0.6), Float32Array.of(0.4, 0.4, 0.9, 0.8)],
    labels: [Int32Array.of(1), Int32Array.of(3)],
  };
  const full = await OnnxTrainer.create(model.graph, cfg, model.stateDict());
  const frozen = await OnnxTrainer.create(model.graph, cfg, model.stateDict(), {
    trainable: heads,
  });
  try {
    const a = await full.gradients(batch, priors);
    const b = await frozen.gradients(batch, priors);
    assert.deepEqual([...b.grads.keys()].sort(), [...heads].sort());
    assert.equal(b.loss, a.loss);
    for (const [name, g] of b.grads) {
      const { abs } = maxDiff(g, a.grads.get(name)!);
      assert.ok(abs <= 1e-6, `${name}: ${abs}`);
    }
  } finally {
    await full.dispose();
    await frozen.dispose();
    priors.dispose();
    model.dispose();
  }
});
