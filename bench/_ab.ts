import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { matchTargets } from "../lib/match.ts";
import { multiboxLoss as newLoss } from "../lib/loss.ts";
import { multiboxLoss as oldLoss } from "../lib/_old_loss.ts";
import { priorsTensor } from "../lib/priors.ts";
await initBackend((Deno.args[0] ?? "wasm") as "wasm", { threads: 1, gradients: true });
const priors = priorsTensor(getConfig("ssd300-coco"));
const tg = matchTargets(priors, Array.from({ length: 8 }, (_, k) => ({ boxes: [0.1 + k * 0.05, 0.1, 0.5, 0.6, 0.3, 0.2, 0.9, 0.7, 0.05, 0.5, 0.3, 0.95], labels: [1, 2, 3] })));
const locPred = tf.randomNormal([8, 8732, 4], 0, 1.5, "float32", 1) as tf.Tensor3D;
const clsLogits = tf.randomNormal([8, 8732, 91], 0, 2, "float32", 2) as tf.Tensor3D;
const fns = { old: oldLoss, new: newLoss };
const s: Record<string, number[]> = { old: [], new: [], oldG: [], newG: [] };
for (let r = 0; r < (Deno.args[0] === "cpu" ? 5 : 12); r++) {
  for (const [k, f] of Object.entries(fns)) {
    let t0 = performance.now();
    const l = f({ locPred, clsLogits }, tg);
    await l.loss.data();
    if (r > 1) s[k].push(performance.now() - t0);
    tf.dispose([l.loss, l.locLoss, l.clsLoss]);
    t0 = performance.now();
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => f({ locPred: a as tf.Tensor3D, clsLogits: b as tf.Tensor3D }, tg).loss)([locPred, clsLogits]);
    await Promise.all(g.map((x) => x.data()));
    if (r > 1) s[k + "G"].push(performance.now() - t0);
    tf.dispose(g);
  }
}
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1].toFixed(1);
console.log(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, med(v)])));
Deno.exit(0);
