import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/engine/tfjs.ts";
await initBackend("wasm", { threads: 1 });
const b = 8, p = 8732;
const ce = tf.randomUniform([b, p], 0, 5, "float32", 1) as tf.Tensor2D;
const kth = tf.ones([b, 1]);
const ops: Record<string, () => tf.Tensor | tf.Tensor[]> = {
  greaterBcast: () => tf.greater(ce, kth),
  greaterScalar: () => tf.greater(ce, 1),
  greaterFull: () => tf.greater(ce, ce),
  tile: () => tf.tile(kth, [1, p]),
  tileGreater: () => tf.greater(ce, tf.tile(kth, [1, p])),
  subBcast: () => tf.sub(ce, kth),
  mulBcast: () => tf.mul(ce, kth),
  addZerosBcast: () => tf.add(tf.zeros([b, p]), kth),
  broadcastTo: () => tf.broadcastTo(kth, [b, p]),
};
for (const [k, f] of Object.entries(ops)) {
  tf.dispose(f());
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) {
    const r = f();
    const first = Array.isArray(r) ? r[0] : r;
    await first.data();
    tf.dispose(r);
  }
  console.log(k, ((performance.now() - t0) / 10).toFixed(2), "ms");
}
Deno.exit(0);
