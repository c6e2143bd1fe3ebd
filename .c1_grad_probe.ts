const t0 = performance.now();
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
const t1 = performance.now();
await import("npm:@tensorflow/tfjs@4.22.0");
const t2 = performance.now();
await tf.setBackend("cpu");
const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor([1, 2, 3]));
console.log(g.dataSync(), tf.getGradient("Conv2D") !== undefined, (t2 - t1).toFixed(0), "ms to import tfjs union");
