import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadModel } from "../lib/model/load.ts";
import { maxDiff, readF32, useBackend } from "./model_helpers.ts";

// PyTorch outputs of the original UltraFace networks on two real photos (fixtures/ultraface/
// PROVENANCE.md); our networks load the shipped weights converted from the same .pth files.
const DIR = new URL("../fixtures/ultraface/", import.meta.url);
const IMAGES = ["1", "8"];
const MODELS = [["face-slim-320", "slim320"], ["face-rfb-320", "rfb320"]] as const;

for (const backend of ["wasm", "cpu"] as const) {
  for (const [name, ref] of MODELS) {
    Deno.test(`loadModel("${name}") reproduces PyTorch clsLogits and locPred within 1e-4 on ${backend}`, async () => {
      await useBackend(backend);
      const model = await loadModel(name);
      try {
        for (const image of IMAGES) {
          const u8 = await Deno.readFile(new URL(`${image}/input_rgb_u8.bin`, DIR));
          const x = tf.tidy(() =>
            tf.div(tf.sub(tf.tensor4d(u8, [1, 240, 320, 3], "float32"), 127), 128)
          ) as tf.Tensor4D; // (v − 127) / 128, ARCHITECTURE.md §1
          const { locPred, clsLogits } = model.predict(x);
          const refLogits = await readF32(new URL(`${image}/${ref}_logits.bin`, DIR));
          const refLoc = await readF32(new URL(`${image}/${ref}_loc.bin`, DIR));
          assert.deepEqual(clsLogits.shape, [1, 4420, 2]);
          assert.deepEqual(locPred.shape, [1, 4420, 4]);
          const dLogits = maxDiff(await clsLogits.data(), refLogits);
          const dLoc = maxDiff(await locPred.data(), refLoc);
          tf.dispose([x, locPred, clsLogits]);
          assert.ok(dLogits.abs <= 1e-4, `image ${image} clsLogits max diff ${dLogits.abs}`);
          assert.ok(dLoc.abs <= 1e-4, `image ${image} locPred max diff ${dLoc.abs}`);
        }
      } finally {
        model.dispose();
      }
    });
  }
}
