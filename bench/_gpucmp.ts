import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { matchTargets } from "../lib/match.ts";
import { multiboxLoss } from "../lib/loss.ts";
import { generatePriors } from "../lib/priors.ts";
const pd = generatePriors(getConfig("ssd300-coco"));
const gts = Array.from({ length: 8 }, (_, k) => ({ boxes: [0.1 + k * 0.05, 0.1, 0.5, 0.6, 0.3, 0.2, 0.9, 0.7, 0.05, 0.5, 0.3, 0.95], labels: [1, 2, 3] }));
const run = async (be: "cpu" | "webgpu") => {
  await initBackend(be, { gradients: true });
  const priors = tf.tensor2d(pd, [8732, 4]);
  const tg = matchTargets(priors, gts);
  const locPred = tf.randomNormal([8, 8732, 4], 0, 1.5, "float32", 1) as tf.Tensor3D;
  const clsLogits = tf.randomNormal([8, 8732, 21], 0, 2, "float32", 2) as tf.Tensor3D;
  const l = multiboxLoss({ locPred, clsLogits }, tg);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => multiboxLoss({ locPred: a as tf.Tensor3D, clsLogits: b as tf.Tensor3D }, tg).loss)([locPred, clsLogits]);
  return [await l.locLoss.data(), await l.clsLoss.data(), await g[0].data(), await g[1].data()];
};
const c = await run("cpu"), w = await run("webgpu");
console.log("cpu", c[0][0], c[1][0], "webgpu", w[0][0], w[1][0]);
for (const k of [2, 3]) {
  let m = 0, nz = 0, nzw = 0;
  for (let i = 0; i < c[k].length; i++) { m = Math.max(m, Math.abs(c[k][i] - w[k][i])); if (c[k][i] !== 0) nz++; if (w[k][i] !== 0) nzw++; }
  console.log("grad", k, "max abs diff", m, "nonzero cpu", nz, "webgpu", nzw);
}
Deno.exit(0);
