import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { registerTrainingGradients } from "../lib/engine/gradients.ts";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { writeSynthDataset } from "../lib/data/synth.ts";
import { readCheckpoint, saveCheckpoint } from "../lib/train/checkpoint.ts";
import { Sgd } from "../lib/train/sgd.ts";
import { DivergedError, train, type TrainConfig } from "../lib/train/loop.ts";
import { useBackend } from "./model_helpers.ts";

const SYNTH = await Deno.makeTempDir({ prefix: "ssd_train_test_" });
await writeSynthDataset({ out: SYNTH, n: 12, seed: 5, size: 160 });
const DATA = await loadDataset(SYNTH, { set: "train" });

const CONFIG: TrainConfig = {
  epochs: 1,
  batchSize: 2,
  lr: 0.01,
  schedule: "cosine",
  warmupSteps: 2,
  momentum: 0.9,
  weightDecay: 5e-4,
  seed: 3,
  workers: 0,
  augment: true,
  valEvery: 0,
  frozen: [],
};

function tinyModel(): SsdModel {
  return buildModel({ ...getConfig("tiny"), classes: [...DATA.classes] }, { seed: 3 });
}

function weights(model: SsdModel): Map<string, Float32Array> {
  return new Map(
    [...model.stateDict()].filter(([, t]) => t.dtype === "float32").map((
      [k, t],
    ) => [k, t.data as Float32Array]),
  );
}

const RESUME_CASES = [
  { backend: "cpu", engine: "tfjs" },
  { backend: "wasm", engine: "tfjs" },
  { backend: "wasm", engine: "onnx" }, // the network in onnxruntime, the loss on wasm
] as const;

for (const { backend, engine } of RESUME_CASES) {
  const label = engine === "onnx" ? "onnxruntime" : backend;
  Deno.test(`train() stopped after N steps and resumed gives the weights of 2N straight steps (${label})`, async () => {
    await useBackend(backend);
    await registerTrainingGradients();
    const n = 3; // 5 batches per epoch: the stop falls mid-epoch, the run crosses an epoch
    const config = { ...CONFIG, iterations: 2 * n, engine };
    const dirA = await Deno.makeTempDir();
    const straight = tinyModel();
    await train({ model: straight, data: DATA, runDir: dirA, config });

    const dirB = await Deno.makeTempDir();
    const first = tinyModel();
    const controller = new AbortController();
    const stopped = await train({
      model: first,
      data: DATA,
      runDir: dirB,
      config,
      signal: controller.signal,
      callbacks: { onStep: (s) => s.step === n && controller.abort() },
    });
    assert.equal(stopped.stopped, true);
    assert.equal(stopped.state.step, n);
    first.dispose();

    const ckpt = await readCheckpoint(`${dirB}/last.safetensors`);
    assert.equal(ckpt.state.step, n);
    const resumed = buildModel(ckpt.config);
    resumed.loadStateDict(ckpt.stateDict);
    const before = tf.memory().numTensors;
    const done = await train({ model: resumed, data: DATA, runDir: dirB, config, resume: ckpt });
    assert.equal(done.stopped, false);
    assert.equal(done.state.step, 2 * n);
    assert.equal(tf.memory().numTensors, before, "tensors leaked by train()");

    const a = weights(straight), b = weights(resumed);
    let worst = 0;
    for (const [name, va] of a) {
      const vb = b.get(name)!;
      for (let i = 0; i < va.length; i++) worst = Math.max(worst, Math.abs(va[i] - vb[i]));
    }
    assert.ok(worst <= 1e-6, `max |straight − resumed| = ${worst}`);
    // and the epoch rows agree
    const rowsA = (await readCheckpoint(`${dirA}/last.safetensors`)).state.history;
    const rowsB = (await readCheckpoint(`${dirB}/last.safetensors`)).state.history;
    assert.deepEqual(rowsB.map((r) => r.step), rowsA.map((r) => r.step));
    rowsA.forEach((r, i) => assert.ok(Math.abs(r.loss - rowsB[i].loss) < 1e-5));
    straight.dispose();
    resumed.dispose();
  });
}

Deno.test("saveCheckpoint() reads nothing back synchronously (WebGPU cannot under Deno)", async () => {
  await useBackend("cpu");
  const model = buildModel(getConfig("tiny"), { seed: 2 });
  const sgd = new Sgd(model.params);
  const grads = new Map([...model.params].map(([k, v]) => [k, tf.onesLike(v)]));
  sgd.step(grads, 0.01);
  const want = { sd: model.stateDict(), buffers: sgd.state() };
  const dir = await Deno.makeTempDir();
  const engine = tf.engine() as unknown as { readSync: (dataId: unknown) => unknown };
  const readSync = engine.readSync;
  engine.readSync = () => {
    throw new Error("synchronous read");
  };
  try {
    await saveCheckpoint(`${dir}/c.safetensors`, model, sgd, {
      step: 1,
      epoch: 0,
      batch: 1,
      seed: 0,
      bestMap: -1,
      seconds: 0,
      epochSums: { loss: 0, locLoss: 0, clsLoss: 0, steps: 0 },
      history: [],
    });
  } finally {
    engine.readSync = readSync;
  }
  const back = await readCheckpoint(`${dir}/c.safetensors`);
  for (const [name, t] of want.sd) assert.deepEqual(back.stateDict.get(name)?.data, t.data, name);
  for (const [name, b] of want.buffers) {
    assert.deepEqual(back.optimizer.get(name)?.data, b.data, name);
  }
  tf.dispose([...grads.values()]);
  sgd.dispose();
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train() learns: the loss of tiny on a few fixed images falls by half in 40 steps", async () => {
  await useBackend("wasm");
  await registerTrainingGradients();
  const model = tinyModel();
  const data = { ...DATA, samples: DATA.samples.slice(0, 4) };
  const losses: number[] = [];
  const dir = await Deno.makeTempDir();
  await train({
    model,
    data,
    runDir: dir,
    config: { ...CONFIG, batchSize: 4, iterations: 40, augment: false, lr: 0.05, warmupSteps: 5 },
    callbacks: { onStep: (s) => losses.push(s.loss) },
  });
  const head = (losses[0] + losses[1]) / 2, tail = (losses[38] + losses[39]) / 2;
  assert.ok(tail < head / 2, `loss ${head.toFixed(3)} → ${tail.toFixed(3)}`);
  model.dispose();
});

Deno.test("train() stops on a NaN loss naming the step and the images, keeping the last good checkpoint", async () => {
  await useBackend("wasm");
  await registerTrainingGradients();
  const model = tinyModel();
  const dir = await Deno.makeTempDir();
  // one batch per epoch: a checkpoint after every step; lr 1e12 blows up within a few steps
  const data = { ...DATA, samples: DATA.samples.slice(0, 2) };
  const err = await train({
    model,
    data,
    runDir: dir,
    config: { ...CONFIG, iterations: 30, lr: 1e12, warmupSteps: 0, schedule: "constant" },
  }).then(() => null, (e) => e);
  assert.ok(err instanceof DivergedError, `expected DivergedError, got ${err}`);
  assert.ok(err.step >= 2, `step ${err.step}`);
  assert.match(
    err.message,
    new RegExp(`^step ${err.step}: the loss is not finite \\(batch: .+\\)`),
  );
  assert.ok(err.ids.every((id: string) => data.samples.some((s) => s.id === id)));
  const ckpt = await readCheckpoint(`${dir}/last.safetensors`);
  assert.equal(ckpt.state.step, err.step - 1);
  for (const [name, t] of ckpt.stateDict) {
    if (t.dtype !== "float32") continue;
    assert.ok((t.data as Float32Array).every(Number.isFinite), `${name} has non-finite values`);
  }
  model.dispose();
});
