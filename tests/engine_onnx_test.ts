import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/engine/tfjs.ts";
import { getConfig } from "../lib/config.ts";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
import { loadModel } from "../lib/model/load.ts";
import { loadDetector } from "../lib/detector.ts";
import type { Detection, DetectOptions } from "../lib/detector.ts";
import { readImage } from "../lib/data/image.ts";
import { onnx, OnnxGraphBuilder } from "../lib/export/onnx_builder.ts";
import { sampleInput, serializeOnnx } from "../lib/export/onnx.ts";
import { floatValueInfo } from "../lib/export/onnx_builder.ts";
import { loadOnnxEngine, nhwcToNchw } from "../lib/engine/onnx_engine.ts";
import { tfjsEngine } from "../lib/engine/tfjs_engine.ts";
import {
  engineDetector,
  postprocessFor,
  softmaxRows,
  toPixelDetections,
} from "../lib/engine/detect.ts";
import { postprocessDetections } from "../lib/nms.ts";
import { priorsTensor } from "../lib/priors.ts";
import { resizeBilinearCv2 } from "../lib/data/resize.ts";
import { normalizeRgb } from "../lib/data/normalize.ts";

await initBackend("wasm");

const samples = new URL("../samples/", import.meta.url).pathname;
const SAMPLES = ["pair.jpg", "faces.jpg", "crowd.jpg"];

function onnxBytes(model: SsdModel): Uint8Array {
  return serializeOnnx(model.graph, model.stateDict(), model.config);
}

/** Same detections: same count, labels and priors' order; scores within 1e-4, boxes 0.01 px. */
function assertSameDetections(got: Detection[], want: Detection[], what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} vs ${want.length} detections`);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].class, want[i].class, `${what} #${i} class`);
    assert.ok(Math.abs(got[i].score - want[i].score) <= 1e-4, `${what} #${i} score`);
    for (let k = 0; k < 4; k++) {
      const d = Math.abs(got[i].bbox[k] - want[i].bbox[k]);
      assert.ok(d <= 0.01, `${what} #${i} bbox[${k}]: ${got[i].bbox[k]} vs ${want[i].bbox[k]}`);
    }
  }
}

/**
 * The detections of `model` on one image through tfjs tensors end to end: `predict`, then
 * `postprocessDetections` (tfjs decode and softmax, checked against torchvision in nms_test)
 * and the mapping to pixels — an independent path to compare the plain-array one with.
 */
async function tensorDetections(
  model: SsdModel,
  image: Awaited<ReturnType<typeof readImage>>,
  opts: DetectOptions,
): Promise<Detection[]> {
  const cfg = model.config;
  const post = postprocessFor(cfg, opts);
  const [h, w] = cfg.imageSize;
  const x = normalizeRgb(resizeBilinearCv2(image, w, h), cfg.preprocess);
  const priors = priorsTensor(cfg);
  const out = tf.tidy(() => model.predict(tf.tensor4d(x, [1, h, w, 3])));
  const [locPred, clsLogits] = [tf.squeeze(out.locPred, [0]), tf.squeeze(out.clsLogits, [0])];
  try {
    const d = await postprocessDetections(
      { locPred: locPred as tf.Tensor2D, clsLogits: clsLogits as tf.Tensor2D },
      priors,
      { ...post, maxDetections: opts.classes ? Number.MAX_SAFE_INTEGER : post.maxDetections },
    );
    return toPixelDetections(d, cfg, image, {
      classes: opts.classes,
      maxDetections: post.maxDetections,
    });
  } finally {
    tf.dispose([priors, out.locPred, out.clsLogits, locPred, clsLogits]);
  }
}

/** Detects every sample through tfjs tensors and with `detect`; compares. */
async function compareOnSamples(
  modelSpec: string,
  detect: (image: Awaited<ReturnType<typeof readImage>>, o: DetectOptions) => Promise<Detection[]>,
  opts: DetectOptions = {},
): Promise<number> {
  const model = await loadModel(modelSpec);
  let total = 0;
  try {
    for (const name of SAMPLES) {
      const image = await readImage(join(samples, name));
      const want = await tensorDetections(model, image, opts);
      assertSameDetections(await detect(image, opts), want, `${modelSpec} ${name}`);
      total += want.length;
    }
  } finally {
    model.dispose();
  }
  return total;
}

Deno.test("loadOnnxEngine() on in-memory bytes predicts as the tfjs engine (batch 3, NHWC in)", async () => {
  const model = buildModel(getConfig("tiny"), { seed: 11 });
  const onnxEngine = await loadOnnxEngine(onnxBytes(model));
  const reference = tfjsEngine(model);
  try {
    assert.equal(onnxEngine.kind, "onnxruntime");
    assert.equal(onnxEngine.config.name, "tiny");
    const x = sampleInput(model.config, 3, 5);
    const before = tf.memory().numTensors;
    const [got, want] = [await onnxEngine.predict(x, 3), await reference.predict(x, 3)];
    assert.equal(tf.memory().numTensors, before, "tensors left behind");
    assert.deepEqual([got.batch, got.numPriors, got.numClasses], [3, 2390, 5]);
    assert.deepEqual([want.batch, want.numPriors, want.numClasses], [3, 2390, 5]);
    for (const key of ["locPred", "clsLogits"] as const) {
      let max = 0;
      got[key].forEach((v, i) => (max = Math.max(max, Math.abs(v - want[key][i]))));
      assert.ok(max <= 1e-4, `${key}: max |Δ| ${max}`);
    }
  } finally {
    await onnxEngine.dispose();
    await reference.dispose();
  }
});

Deno.test("engineDetector(tfjs engine) on plain arrays finds what the tfjs tensor path finds on samples/*.jpg", async () => {
  const detector = engineDetector(tfjsEngine(await loadModel("face-slim-320")));
  try {
    const n = await compareOnSamples("face-slim-320", (im, o) => detector.detect(im, o));
    assert.ok(n >= 10, `faces found: ${n}`);
    // options: a lower threshold, fewer detections, a class filter
    await compareOnSamples("face-slim-320", (im, o) => detector.detect(im, o), {
      scoreThreshold: 0.3,
      maxDetections: 3,
      classes: ["face"],
    });
  } finally {
    await detector.dispose();
  }
});

Deno.test("engineDetector(onnx engine) equals the tfjs detector for shapes-tiny on samples/*.jpg", async () => {
  const model = await loadModel("shapes-tiny");
  const detector = engineDetector(await loadOnnxEngine(onnxBytes(model)));
  model.dispose();
  try {
    const n = await compareOnSamples("shapes-tiny", (im, o) => detector.detect(im, o), {
      scoreThreshold: 0.05,
    });
    console.log(`shapes-tiny: ${n} detections compared`);
    assert.ok(n >= 1);
  } finally {
    await detector.dispose();
  }
});

Deno.test({
  name: "engineDetector(onnx engine) equals the tfjs detector for face-slim-320 on samples/*.jpg",
  fn: async () => {
    const model = await loadModel("face-slim-320");
    const detector = engineDetector(await loadOnnxEngine(onnxBytes(model)));
    model.dispose();
    try {
      const n = await compareOnSamples("face-slim-320", (im, o) => detector.detect(im, o));
      assert.ok(n >= 10, `faces found: ${n}`);
    } finally {
      await detector.dispose();
    }
  },
});

Deno.test("loadOnnxEngine() refuses what is not an exported SSD, one FileError each", async () => {
  await assert.rejects(
    loadOnnxEngine(new TextEncoder().encode("not an onnx model")),
    /<in-memory ONNX>/,
  );
  await assert.rejects(
    loadOnnxEngine("/nonexistent/m.onnx"),
    /\/nonexistent\/m\.onnx: cannot read/,
  );
  // a graph without config metadata, and one without the loc/logits outputs
  const b = new OnnxGraphBuilder();
  b.fresh("images");
  b.node("Identity", ["images"], {}, { outputs: ["y"] });
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "id",
      node: b.nodes,
      input: [floatValueInfo("images", ["batch", 3, 160, 160])],
      output: [floatValueInfo("y", ["batch", 3, 160, 160])],
    },
  })).finish();
  await assert.rejects(loadOnnxEngine(bytes), /no "config" metadata/);
  await assert.rejects(
    loadOnnxEngine(bytes, { config: getConfig("tiny") }),
    /expected input "images" and outputs "loc", "logits"; it has inputs images and outputs y/,
  );
});

Deno.test("engines refuse an input of the wrong size with expected and actual shapes", async () => {
  const model = buildModel(getConfig("tiny"), { seed: 1 });
  const engine = await loadOnnxEngine(onnxBytes(model));
  const reference = tfjsEngine(model);
  try {
    for (const e of [engine, reference]) {
      await assert.rejects(
        e.predict(new Float32Array(10), 1),
        /images must have shape \[B, 160, 160, 3\] with B = 1 \(76800 values\), got 10 values/,
      );
    }
  } finally {
    await engine.dispose();
    await reference.dispose();
  }
});

Deno.test("nhwcToNchw() moves channels in front, per image", () => {
  // B = 2, H = 1, W = 2, C = 3: pixel p of image b has values (b, p, c) → 100b + 10p + c
  const x = Float32Array.from([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
  assert.deepEqual([...nhwcToNchw(x, 2, 1, 2)], [
    0,
    10,
    1,
    11,
    2,
    12,
    100,
    110,
    101,
    111,
    102,
    112,
  ]);
});

Deno.test("softmaxRows() equals tf.softmax within 1e-7", () => {
  const logits = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.7) * 9);
  const want = tf.tidy(() => tf.softmax(tf.tensor2d(logits, [12, 5])).dataSync());
  const got = softmaxRows(logits, 5);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-7, `${i}: ${v} vs ${want[i]}`));
  assert.throws(() => softmaxRows(logits, 7), /logits must have shape \[N, 7\], got 60 values/);
});

Deno.test("loadDetector: auto takes onnxruntime on a CPU for a named model, tfjs for a model object; both agree", async () => {
  const auto = await loadDetector("face-slim-320");
  const tfjs = await loadDetector("face-slim-320", { engine: "tfjs" });
  const lent = buildModel(getConfig("tiny"), { seed: 3 });
  const objectDetector = await loadDetector(lent, { owned: false });
  try {
    assert.equal(auto.engine.kind, "onnxruntime"); // initBackend("wasm") above: no GPU
    assert.equal(tfjs.engine.kind, "tfjs");
    assert.equal(objectDetector.engine.kind, "tfjs");
    const image = await readImage(join(samples, "faces.jpg"));
    assertSameDetections(await auto.detect(image), await tfjs.detect(image), "faces.jpg");
    await assert.rejects(
      loadDetector(join(samples, "x.onnx"), { engine: "tfjs" }),
      /x\.onnx is an ONNX model: it runs on the onnx engine, not tfjs/,
    );
  } finally {
    await Promise.all([auto.dispose(), tfjs.dispose(), objectDetector.dispose()]);
    assert.equal(lent.params.size > 0, true); // lent: still usable
    lent.dispose();
  }
});
