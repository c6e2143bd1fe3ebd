import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { getConfig } from "../lib/config.ts";
import { loadDetector } from "../lib/detector.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { writeSynthDataset } from "../lib/data/synth.ts";
import {
  detectDataset,
  EVAL_MAX_DETECTIONS,
  EVAL_SCORE_THRESHOLD,
  evaluateDetector,
} from "../lib/eval/detect_dataset.ts";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
import { useBackend } from "./model_helpers.ts";

/** A 3-image synthetic COCO dataset at the tiny model's 160 px. */
async function synthDataset() {
  const out = await Deno.makeTempDir();
  await writeSynthDataset({ out, n: 3, seed: 5, format: "coco" });
  return { out, dataset: await loadDataset(join(out, "annotations.json")) };
}

/** The model, with `predict` and `dispose` calls recorded. */
function spied(model: SsdModel) {
  const calls = { training: [] as (boolean | undefined)[], disposed: 0 };
  const spy: SsdModel = {
    config: model.config,
    graph: model.graph,
    params: model.params,
    predict: (images, opts) => {
      calls.training.push(opts?.training);
      return model.predict(images, opts);
    },
    loadStateDict: (sd, opts) => model.loadStateDict(sd, opts),
    stateDict: () => model.stateDict(),
    stateDictAsync: () => model.stateDictAsync(),
    numParams: () => model.numParams(),
    dispose: () => void calls.disposed++,
  };
  return { spy, calls };
}

Deno.test("detectDataset() evaluates as SSD is: score > 0.01, at most 200 per image", async () => {
  assert.equal(EVAL_SCORE_THRESHOLD, 0.01);
  assert.equal(EVAL_MAX_DETECTIONS, 200);
  await useBackend("wasm");
  const { out, dataset } = await synthDataset();
  // An untrained tiny model scores every class near 1/4 everywhere: far more than 200 boxes
  // survive NMS above 0.01, and its own post-processing (0.3, 100) would keep fewer.
  const model = buildModel(getConfig("tiny"), { seed: 1 });
  const detector = await loadDetector(model);
  try {
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const { detections, failed } = await detectDataset(detector, dataset, {
      onProgress: (done, total) => progress.push(done / total),
    });
    assert.equal(tf.memory().numTensors, before, "detectDataset() leaked tensors");
    assert.equal(failed, 0);
    assert.deepEqual(progress, [1 / 3, 2 / 3, 1]);
    assert.deepEqual([...detections.keys()], dataset.samples.map((s) => s.id));
    for (const found of detections.values()) {
      assert.equal(found.length, 200);
      assert.ok(found.every((d) => d.score > 0.01));
    }
    const own = await detectDataset(detector, dataset, {
      scoreThreshold: model.config.postprocess.scoreThreshold,
      maxDetections: model.config.postprocess.maxDetections,
    });
    for (const found of own.detections.values()) assert.ok(found.length < 100);
    await assert.rejects(
      () => detectDataset(detector, dataset, { maxDetections: 0 }),
      /maxDetections must be a positive integer, got 0/,
    );
  } finally {
    await detector.dispose();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("detectDataset() counts and reports an unreadable image, and detects the rest", async () => {
  await useBackend("wasm");
  const { out, dataset } = await synthDataset();
  await Deno.writeTextFile(dataset.samples[1].imagePath, "not an image");
  const detector = await loadDetector(buildModel(getConfig("tiny"), { seed: 1 }));
  try {
    const errors: string[] = [];
    const { report, failed, detections } = await evaluateDetector(detector, dataset, {
      onError: (sample) => errors.push(sample.id),
    });
    assert.equal(failed, 1);
    assert.deepEqual(errors, [dataset.samples[1].id]);
    assert.equal(detections.size, 2);
    assert.ok(report.coco !== undefined && report.voc === undefined); // COCO data: COCO metric
    assert.equal(report.numImages, 3);
  } finally {
    await detector.dispose();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("loadDetector(model, { owned: false }) runs predict in inference mode and leaves the model", async () => {
  await useBackend("wasm");
  const { out, dataset } = await synthDataset();
  const model = buildModel(getConfig("tiny"), { seed: 1 });
  const lent = spied(model);
  const owned = spied(model);
  try {
    const before = tf.memory().numTensors;
    const detector = await loadDetector(lent.spy, { owned: false });
    await detectDataset(detector, dataset);
    await detector.dispose();
    assert.deepEqual(lent.calls.training, [false, false, false]);
    assert.equal(lent.calls.disposed, 0);
    assert.equal(tf.memory().numTensors, before, "the priors were not freed");
    const again = await loadDetector(owned.spy);
    await again.dispose();
    assert.equal(owned.calls.disposed, 1); // owned by default
  } finally {
    model.dispose();
    await Deno.remove(out, { recursive: true });
  }
});
