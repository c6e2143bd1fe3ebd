/**
 * Runs 100 forward passes of a model and prints the tfjs tensor count and the process RSS
 * every 10 passes: both must stay flat (no tensor leak, no growing native memory).
 *
 *   deno run -A scripts/memory_check.ts [--model face-slim-320] [--backend wasm] [--n 100]
 *
 * With `--v8-flags=--expose-gc` it collects garbage after every pass, which tells a real leak
 * from V8 collecting lazily: measured here, face-slim-320 on wasm grows ~0.07 MiB a pass
 * without it (lazy GC) and stays flat with it (244.0 → 244.2 MiB over passes 80…400).
 */
import * as tf from "@tensorflow/tfjs-core";
import { getConfig, MODEL_NAMES } from "../lib/config.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { flag } from "./args.ts";
import { loadModel } from "../lib/model/load.ts";

const spec = flag("--model", "face-slim-320");
const backend = flag("--backend", "wasm") as "wasm" | "cpu";
const n = Number(flag("--n", "100"));
await initBackend(backend);
// a preset without shipped weights runs with fresh weights: memory does not depend on values
const model = await loadModel(spec).catch(() =>
  MODEL_NAMES.includes(spec) ? buildModel(getConfig(spec)) : Promise.reject(new Error(spec))
);
const [h, w] = model.config.imageSize;
const x = tf.randomUniform([1, h, w, 3], -1, 1, "float32", 1) as tf.Tensor4D;
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const gc = (globalThis as { gc?: () => void }).gc;
const t0 = performance.now();
let first = { tensors: 0, rss: 0 };
for (let i = 1; i <= n; i++) {
  const { locPred, clsLogits } = model.predict(x);
  await clsLogits.data();
  tf.dispose([locPred, clsLogits]);
  gc?.();
  if (i === 1 || i % 10 === 0) {
    const now = { tensors: tf.memory().numTensors, rss: Deno.memoryUsage().rss };
    if (i === 1) first = now;
    console.log(`pass ${String(i).padStart(3)}: tensors ${now.tensors}, rss ${mib(now.rss)} MiB`);
  }
}
const last = { tensors: tf.memory().numTensors, rss: Deno.memoryUsage().rss };
console.log(
  `${spec} on ${backend}${gc ? " (gc every pass)" : ""}: ${n} passes in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s; ` +
    `tensors ${first.tensors} → ${last.tensors}; rss ${mib(first.rss)} → ${mib(last.rss)} MiB`,
);
x.dispose();
model.dispose();
