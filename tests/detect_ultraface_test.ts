import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadDetector } from "../lib/detector.ts";
import { readImage } from "../lib/data/image.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { compareWithReference, type ReferenceFile } from "./ultraface_reference.ts";

const fixtures = new URL("../fixtures/ultraface/", import.meta.url).pathname;
const samples = new URL("../samples/", import.meta.url).pathname;
const IMAGES: [string, string][] = [["1", "crowd.jpg"], ["9", "faces.jpg"], ["13", "pair.jpg"]];

for (const backend of ["wasm", "cpu"] as const) {
  for (const [model, key] of [["face-slim-320", "slim320"], ["face-rfb-320", "rfb320"]]) {
    // The cpu backend is the slow reference; one model there is enough.
    if (backend === "cpu" && key === "rfb320") continue;
    Deno.test(`detect() with ${model} on ${backend} equals the PyTorch reference at 0.7, 0.6, 0.3`, async () => {
      await initBackend(backend);
      const detector = await loadDetector(model);
      const before = tf.memory().numTensors;
      try {
        for (const [id, file] of IMAGES) {
          const ref: ReferenceFile = JSON.parse(
            await Deno.readTextFile(`${fixtures}${id}/${key}_detections.json`),
          );
          const image = await readImage(`${samples}${file}`);
          assert.equal(image.width, ref.width);
          assert.equal(image.height, ref.height);
          for (const thr of ["0.7", "0.6", "0.3"]) {
            const ours = await detector.detect(image, { scoreThreshold: Number(thr) });
            const c = compareWithReference(ours, ref.thresholds[thr].detections, image);
            const where = `${file} @ ${thr}`;
            assert.equal(c.countOurs, ref.thresholds[thr].count, `${where}: count`);
            assert.equal(c.unpaired, 0, `${where}: detections farther than 1 px / 1e-3`);
            assert.ok(c.maxBoxPx <= 1, `${where}: box off by ${c.maxBoxPx} px`);
            assert.ok(c.maxScore <= 1e-3, `${where}: score off by ${c.maxScore}`);
          }
        }
        assert.equal(tf.memory().numTensors, before, "detect() leaked tensors");
      } finally {
        await detector.dispose();
      }
    });
  }
}

Deno.test("detect() filters classes, caps detections and rejects bad options", async () => {
  await initBackend("wasm");
  const detector = await loadDetector("face-slim-320");
  try {
    const image = await readImage(`${samples}crowd.jpg`);
    const all = await detector.detect(image);
    assert.equal(all.length, 48);
    const top3 = await detector.detect(image, { maxDetections: 3 });
    assert.deepEqual(top3.map((d) => d.score), all.slice(0, 3).map((d) => d.score));
    const faces = await detector.detect(image, { classes: ["face"], maxDetections: 5 });
    assert.equal(faces.length, 5);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].score >= all[i].score);
    await assert.rejects(() => detector.detect(image, { classes: ["cat"] }), /unknown class "cat"/);
    await assert.rejects(() => detector.detect(image, { scoreThreshold: 2 }), RangeError);
  } finally {
    await detector.dispose();
  }
});

Deno.test("the face presets post-process as UltraFace's predictor: no decode clamp, IoU + 1e-5", async () => {
  const { getConfig } = await import("../lib/config.ts");
  for (const name of ["face-slim-320", "face-rfb-320"]) {
    const post = getConfig(name).postprocess;
    assert.equal(post.clampDecode, false, name);
    assert.equal(post.iouEps, 1e-5, name);
    assert.equal(post.clipBoxes, false, name);
  }
  // torchvision's presets keep its BoxCoder clamp and plain IoU.
  assert.equal(getConfig("ssd300-coco").postprocess.clampDecode ?? true, true);
  assert.equal(getConfig("ssd300-coco").postprocess.iouEps ?? 0, 0);
});
