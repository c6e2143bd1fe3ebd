import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadModel } from "../lib/model/load.ts";
import { maxDiff, readF32, useBackend } from "./model_helpers.ts";

// torchvision 0.14 models with random weights saved by torch, a fixed input and torchvision's
// raw head outputs, made by fixtures/models/make_model_fixtures.py into generated/ (too large
// to commit). Tolerance: max |ours − torch| ≤ 1e-4 · max(1, max |torch|), against the outputs'
// scale rather than each element's: a float32 VGG16 on inputs of ±150 ends with outputs up to ~28
// whose rounding error (~1.5e-4 absolute, ~5e-6 of that scale) also falls on elements near 1, and
// it moves with the CPU torch runs on (AVX2 or AVX-512 kernels): 1.08e-4 of a 1.3 on an AVX2 machine.
const GEN = new URL("../fixtures/models/generated/", import.meta.url);

async function requireFixture(file: string): Promise<URL> {
  const url = new URL(file, GEN);
  try {
    await Deno.stat(url);
  } catch {
    throw new Error(
      `missing fixture fixtures/models/generated/${file}: run /usr/bin/python3 fixtures/models/make_model_fixtures.py`,
    );
  }
  return url;
}

// Without the generated files (no python3-torchvision on this machine) the comparison cannot
// run: it is skipped with the reason printed, never passed silently.
const MISSING = await Deno.stat(new URL("manifest.json", GEN)).then(() => false, () => true);
if (MISSING) {
  console.warn(
    "skipping the torchvision parity tests: fixtures/models/generated/ is missing; make it with " +
      "/usr/bin/python3 fixtures/models/make_model_fixtures.py (needs python3-torchvision)",
  );
}

const CASES = [
  { file: "ssdlite320", config: "ssdlite320", size: 320, priors: 3234 },
  { file: "ssd300_vgg16", config: "ssd300-coco", size: 300, priors: 8732 },
];

for (const c of CASES) {
  Deno.test({
    name: `loadModel(${c.file}.pth) reproduces torchvision's bbox_regression and cls_logits`,
    ignore: MISSING,
  }, async () => {
    await useBackend("wasm");
    const pth = await requireFixture(`${c.file}.pth`);
    const model = await loadModel(decodeURIComponent(pth.pathname));
    try {
      assert.equal(model.config.name, c.config);
      const input = await readF32(await requireFixture(`${c.file}_input.bin`));
      const x = tf.tensor4d(input, [1, c.size, c.size, 3]);
      const { locPred, clsLogits } = model.predict(x);
      assert.deepEqual(locPred.shape, [1, c.priors, 4]);
      assert.deepEqual(clsLogits.shape, [1, c.priors, 91]);
      const dLoc = maxDiff(
        await locPred.data(),
        await readF32(await requireFixture(`${c.file}_bbox_regression.bin`)),
      );
      const dLogits = maxDiff(
        await clsLogits.data(),
        await readF32(await requireFixture(`${c.file}_cls_logits.bin`)),
      );
      tf.dispose([x, locPred, clsLogits]);
      assert.ok(dLoc.scaled <= 1e-4, `bbox_regression: ${JSON.stringify(dLoc)}`);
      assert.ok(dLogits.scaled <= 1e-4, `cls_logits: ${JSON.stringify(dLogits)}`);
    } finally {
      model.dispose();
    }
  });
}
