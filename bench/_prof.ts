import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/engine/tfjs.ts";
await initBackend("wasm", { threads: 1 });
const b = 8, p = 8732;
const ce = tf.randomUniform([b, p], 0, 5, "float32", 1) as tf.Tensor2D;
const positive = tf.less(tf.randomUniform([b, p], 0, 1, "float32", 2), 0.005) as tf.Tensor2D;
const ops: Record<string, () => tf.Tensor | tf.Tensor[]> = {
  where: () => tf.where(positive, tf.fill([b, p], -1), ce),
  topk: () => { const r = tf.topk(ce, p); return [r.values, r.indices]; },
  range: () => tf.equal(tf.reshape(tf.range(1, p + 1, 1, "float32"), [1, p]), tf.ones([b, 1])),
  sum: () => tf.sum(ce, 1, true),
  cumsum: () => tf.cumsum(ce, 1),
  greater: () => tf.greater(ce, tf.ones([b, 1])),
  logicalAnd: () => tf.logicalAnd(positive, positive),
  cast: () => tf.cast(positive, "float32"),
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
