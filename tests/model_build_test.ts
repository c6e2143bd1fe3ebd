import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { useBackend } from "./model_helpers.ts";

// Parameter counts from torchvision 0.14 (`sum(p.numel() for p in model.parameters())`):
// ssd300_vgg16 91 classes 35,641,826 (its documented num_params), 21 classes 26,285,486;
// SSD512 = _vgg_extractor(vgg16(), highres=True) + SSDHead(7 maps, 21 classes) 27,188,676
// (torchvision pads conv10_2/11_2 differently but has the same parameters);
// ssdlite320_mobilenet_v3_large 3,440,060 (documented). UltraFace: ARCHITECTURE.md §0.
const COUNTS: Record<string, number> = {
  "ssd300-coco": 35_641_826,
  ssd300: 26_285_486,
  ssd512: 27_188_676,
  ssdlite320: 3_440_060,
  "face-slim-320": 260_188,
  "face-rfb-320": 276_292,
};

for (const [name, count] of Object.entries(COUNTS)) {
  Deno.test(`buildModel("${name}").numParams() is ${count} as the reference`, async () => {
    await useBackend("wasm");
    const model = buildModel(getConfig(name));
    try {
      assert.equal(model.numParams(), count);
    } finally {
      model.dispose();
    }
  });
}

interface TorchvisionShapes {
  [model: string]: { num_params: number; state_dict: [string, number[], string][] };
}
const SHAPES: TorchvisionShapes = JSON.parse(
  await Deno.readTextFile(
    new URL("../fixtures/models/torchvision_state_dicts.json", import.meta.url),
  ),
);

for (const [file, config] of [["ssdlite320", "ssdlite320"], ["ssd300_vgg16", "ssd300-coco"]]) {
  Deno.test(`stateDict() of ${config} has torchvision's names, order, shapes and dtypes`, async () => {
    await useBackend("wasm");
    const model = buildModel(getConfig(config));
    try {
      const ours = [...model.stateDict()].map(([k, t]) => [k, t.shape, t.dtype]);
      assert.deepEqual(ours, SHAPES[file].state_dict);
      assert.equal(model.numParams(), SHAPES[file].num_params);
    } finally {
      model.dispose();
    }
  });
}

Deno.test("SSD512 runs and gives 24564 predictions over 7 maps", async () => {
  await useBackend("wasm");
  const cfg = getConfig("ssd512");
  const model = buildModel(cfg, { seed: 3 });
  const x = tf.randomUniform([1, 512, 512, 3], -120, 130, "float32", 1) as tf.Tensor4D;
  try {
    const { locPred, clsLogits } = model.predict(x);
    assert.deepEqual(locPred.shape, [1, 24564, 4]);
    assert.deepEqual(clsLogits.shape, [1, 24564, 21]);
    const finite = tf.tidy(() => tf.all(tf.isFinite(clsLogits)).dataSync()[0]);
    assert.equal(finite, 1);
    tf.dispose([locPred, clsLogits]);
  } finally {
    x.dispose();
    model.dispose();
  }
});

Deno.test("predict() treats batch elements independently (tiny, batch 2)", async () => {
  await useBackend("cpu");
  const cfg = getConfig("tiny");
  const model = buildModel(cfg, { seed: 5 });
  const a = tf.randomNormal([1, 160, 160, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const b = tf.randomNormal([1, 160, 160, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const both = tf.concat([a, b]) as tf.Tensor4D;
  try {
    const one = model.predict(b);
    const two = model.predict(both);
    // 20²·4 + 10²·6 + 5²·6 + 3²·4 + 1²·4 (config.ts)
    assert.deepEqual(two.clsLogits.shape, [2, 2390, 5]);
    const second = tf.slice(two.locPred, [1, 0, 0], [1, -1, -1]);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(second, one.locPred))).dataSync()[0]);
    assert.ok(d < 1e-5, `batch element 1 differs from the same image alone by ${d}`);
    tf.dispose([one.locPred, one.clsLogits, two.locPred, two.clsLogits, second]);
  } finally {
    tf.dispose([a, b, both]);
    model.dispose();
  }
});

Deno.test("predict() rejects images of the wrong size with expected and actual", async () => {
  await useBackend("cpu");
  const model = buildModel(getConfig("tiny"));
  const x = tf.zeros([1, 100, 160, 3]) as tf.Tensor4D;
  try {
    assert.throws(
      () => model.predict(x),
      /must have shape \[B, 160, 160, 3\], got \[1,100,160,3\]/,
    );
  } finally {
    x.dispose();
    model.dispose();
  }
});
