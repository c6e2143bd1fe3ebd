import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { registerTrainingGradients } from "../lib/engine/gradients.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { useBackend } from "./model_helpers.ts";

// Every layer must be trainable: plain conv2d + add (no fused conv), dilated convs (RFB) through
// the gradients C1 registers, BatchNorm in training mode.
// (face-rfb-320 on cpu passes too but takes ~12 s, so the suite runs it on wasm only.)
const CASES = [["cpu", "tiny"], ["wasm", "tiny"], ["wasm", "face-rfb-320"]] as const;
for (const [backend, name] of CASES) {
  {
    Deno.test(`tf.variableGrads() of ${name}'s outputs reaches every parameter on ${backend}`, async () => {
      await useBackend(backend);
      await registerTrainingGradients();
      const cfg = getConfig(name);
      const model = buildModel(cfg, { seed: 1 });
      const x = tf.randomNormal([1, ...cfg.imageSize, 3], 0, 1, "float32", 2) as tf.Tensor4D;
      try {
        const before = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(() => {
          const { locPred, clsLogits } = model.predict(x, { training: true });
          return tf.add(tf.mean(tf.square(locPred)), tf.mean(clsLogits)) as tf.Scalar;
        });
        const names = [...model.params.keys()];
        const byVar = new Map([...model.params].map(([k, v]) => [v.name, k]));
        assert.equal(Object.keys(grads).length, names.length);
        for (const [varName, g] of Object.entries(grads)) {
          const finite = tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0]);
          assert.equal(finite, 1, `gradient of ${byVar.get(varName)} is not finite`);
        }
        // a dilated RFB conv and the first conv get non-zero gradients
        const probe = name === "tiny"
          ? "backbone.layers.0.conv.weight"
          : "base_net.7.branch2.3.conv.weight";
        const g = grads[model.params.get(probe)!.name];
        assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0, `${probe} gradient is zero`);
        tf.dispose([value, ...Object.values(grads)]);
        assert.equal(tf.memory().numTensors, before);
      } finally {
        x.dispose();
        model.dispose();
      }
    });
  }
}
