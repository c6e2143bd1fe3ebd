/**
 * Times a conv-heavy forward (VGG16 conv1_1…conv4_3 at 300×300, as SSD300's backbone) on
 * wasm with N threads: `deno run -A scripts/bench_wasm_threads.ts 2` (one thread count per
 * process, since the wasm module starts once).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/engine/tfjs.ts";

const threads = Number(Deno.args[0] ?? 1);
const info = await initBackend("wasm", { threads });
const channels = [
  [3, 64],
  [64, 64],
  "pool",
  [64, 128],
  [128, 128],
  "pool",
  [128, 256],
  [
    256,
    256,
  ],
  [256, 256],
  "pool",
  [256, 512],
  [512, 512],
  [512, 512],
] as const;
const weights = channels.map((c) =>
  c === "pool" ? null : tf.randomNormal([3, 3, c[0], c[1]], 0, 0.05)
);
const x = tf.randomNormal([1, 300, 300, 3]);
const forward = () =>
  tf.tidy(() => {
    let y = x as tf.Tensor4D;
    for (const w of weights) {
      y = w === null
        ? tf.maxPool(y, 2, 2, "same")
        : tf.relu(tf.conv2d(y, w as tf.Tensor4D, 1, "same"));
    }
    return y;
  });
await forward().data();
const times: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const y = forward();
  await y.data();
  y.dispose();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(
  `wasm threads=${info.threads} simd=${info.simd}: median ${times[2].toFixed(0)} ms, min ${
    times[0].toFixed(0)
  } ms (VGG16 to conv4_3, 300x300)`,
);
