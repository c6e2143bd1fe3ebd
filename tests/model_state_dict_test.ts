import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { useBackend } from "./model_helpers.ts";

Deno.test("loadStateDict(stateDict()) round-trips weights and outputs (face-rfb-320)", async () => {
  await useBackend("cpu");
  const cfg = getConfig("face-rfb-320");
  const a = buildModel(cfg, { seed: 1 });
  const b = buildModel(cfg, { seed: 2 });
  const x = tf.randomNormal([1, 240, 320, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  try {
    const sd = a.stateDict();
    // PyTorch layout: depthwise [C, 1, 3, 3], conv OIHW.
    assert.deepEqual(sd.get("base_net.1.0.weight")?.shape, [16, 1, 3, 3]);
    assert.deepEqual(sd.get("base_net.1.3.weight")?.shape, [32, 16, 1, 1]);
    assert.equal(sd.get("base_net.0.1.num_batches_tracked")?.dtype, "int64");
    b.loadStateDict(sd);
    const ya = a.predict(x);
    const yb = b.predict(x);
    assert.deepEqual(await yb.clsLogits.data(), await ya.clsLogits.data());
    assert.deepEqual(await yb.locPred.data(), await ya.locPred.data());
    tf.dispose([ya.locPred, ya.clsLogits, yb.locPred, yb.clsLogits]);
  } finally {
    tf.dispose(x);
    a.dispose();
    b.dispose();
  }
});

Deno.test("loadStateDict() transposes OIHW to HWIO: a conv weight's element lands in place", async () => {
  await useBackend("cpu");
  const model = buildModel(getConfig("face-slim-320"));
  try {
    const sd = model.stateDict();
    const w = sd.get("base_net.0.0.weight")!; // [16, 3, 3, 3] OIHW
    const data = new Float32Array(w.data.length);
    const [o, i, kh, kw] = [5, 2, 1, 0];
    data[((o * 3 + i) * 3 + kh) * 3 + kw] = 42;
    sd.set("base_net.0.0.weight", { ...w, data });
    model.loadStateDict(sd);
    const hwio = model.params.get("base_net.0.0.weight")!; // [3, 3, 3, 16]
    assert.deepEqual(hwio.shape, [3, 3, 3, 16]);
    const v = Array.from(hwio.dataSync());
    assert.equal(v[((kh * 3 + kw) * 3 + i) * 16 + o], 42);
    assert.equal(v.reduce((s, x) => s + x, 0), 42);
  } finally {
    model.dispose();
  }
});

Deno.test("loadStateDict() names missing, unexpected and mismatched keys and assigns nothing", async () => {
  await useBackend("cpu");
  const model = buildModel(getConfig("face-slim-320"), { seed: 1 });
  try {
    const before = model.params.get("base_net.0.0.weight")!.dataSync().slice();
    const sd = model.stateDict();
    sd.delete("extras.0.0.bias");
    sd.set("extras.9.weight", { dtype: "float32", shape: [1], data: new Float32Array(1) });
    assert.throws(
      () => model.loadStateDict(sd),
      /missing keys: extras\.0\.0\.bias.*unexpected keys: extras\.9\.weight/,
    );
    const bad = model.stateDict();
    bad.set("base_net.0.0.weight", {
      dtype: "float32",
      shape: [16, 3, 5, 5],
      data: new Float32Array(1200),
    });
    assert.throws(
      () => model.loadStateDict(bad),
      /shape mismatch: base_net\.0\.0\.weight expected \[16,3,3,3\] got \[16,3,5,5\]/,
    );
    // strict: false tolerates missing and unexpected keys, never a shape mismatch
    model.loadStateDict(sd, { strict: false });
    assert.throws(() => model.loadStateDict(bad, { strict: false }), /shape mismatch/);
    assert.deepEqual(model.params.get("base_net.0.0.weight")!.dataSync(), before);
  } finally {
    model.dispose();
  }
});

Deno.test("loadStateDict() accepts float16 and float64 arrays", async () => {
  await useBackend("cpu");
  const model = buildModel(getConfig("face-slim-320"));
  try {
    const sd = model.stateDict();
    sd.set("extras.0.0.bias", {
      dtype: "float16",
      shape: [64],
      data: new Uint16Array(64).fill(0x3c00),
    }); // 1.0
    sd.set("extras.0.2.0.bias", {
      dtype: "float64",
      shape: [64],
      data: new Float64Array(64).fill(-0.5),
    });
    model.loadStateDict(sd);
    assert.deepEqual([...model.params.get("extras.0.0.bias")!.dataSync()], new Array(64).fill(1));
    assert.deepEqual(
      [...model.params.get("extras.0.2.0.bias")!.dataSync()],
      new Array(64).fill(-0.5),
    );
  } finally {
    model.dispose();
  }
});

Deno.test("predict() keeps the tensor count flat over repeated calls, eval and training", async () => {
  await useBackend("wasm");
  for (const name of ["tiny", "face-slim-320"]) {
    const cfg = getConfig(name);
    const model = buildModel(cfg);
    const x = tf.randomNormal([1, ...cfg.imageSize, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    try {
      const run = (training: boolean) => {
        const { locPred, clsLogits } = model.predict(x, { training });
        tf.dispose([locPred, clsLogits]);
      };
      run(false);
      run(true);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) {
        run(false);
        run(true);
      }
      assert.equal(tf.memory().numTensors, before, name);
    } finally {
      x.dispose();
      model.dispose();
    }
  }
});

Deno.test("predict({training: true}) moves BatchNorm running stats like PyTorch (momentum 0.1)", async () => {
  await useBackend("cpu");
  const model = buildModel(getConfig("tiny"));
  // a constant image: layer 0's conv output per channel is constant over space except at borders
  const x = tf.fill([2, 160, 160, 3], 0.5) as tf.Tensor4D;
  try {
    const { locPred, clsLogits } = model.predict(x, { training: true });
    tf.dispose([locPred, clsLogits]);
    const sd = model.stateDict();
    const mean = sd.get("backbone.layers.0.bn.running_mean")!.data as Float32Array;
    // hand: running_mean = 0.9·0 + 0.1·batch mean of the conv output; compute the batch mean here
    const w = model.params.get("backbone.layers.0.conv.weight")! as tf.Tensor4D;
    const batchMean = tf.tidy(() =>
      tf.mean(tf.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), w, 2, "valid"), [0, 1, 2])
    );
    const expected = batchMean.dataSync();
    batchMean.dispose();
    for (let c = 0; c < 16; c++) assert.ok(Math.abs(mean[c] - 0.1 * expected[c]) < 1e-5);
    assert.equal(
      Number((sd.get("backbone.layers.0.bn.num_batches_tracked")!.data as BigInt64Array)[0]),
      1,
    );
  } finally {
    x.dispose();
    model.dispose();
  }
});
