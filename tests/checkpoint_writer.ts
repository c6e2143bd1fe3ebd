/**
 * A process that writes the same checkpoint over and over (for the SIGKILL test): a tiny model
 * with momentum buffers, `saveCheckpoint` to the path in `Deno.args[0]` in a loop, printing
 * "wrote" after the first write.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { getConfig } from "../lib/config.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { Sgd } from "../lib/train/sgd.ts";
import { saveCheckpoint } from "../lib/train/checkpoint.ts";

await tf.setBackend("cpu");
const model = buildModel(getConfig(Deno.args[1] ?? "tiny"), { seed: 1 });
const sgd = new Sgd(model.params);
const grads = new Map([...model.params].map(([k, v]) => [k, tf.onesLike(v)]));
sgd.step(grads, 0.01);
for (let i = 0;; i++) {
  await saveCheckpoint(Deno.args[0], model, sgd, {
    step: i,
    epoch: 0,
    batch: i,
    seed: 0,
    bestMap: -1,
    seconds: 0,
    epochSums: { loss: 0, locLoss: 0, clsLoss: 0, steps: 0 },
    history: [],
  });
  if (i === 0) console.log("wrote");
}
