/**
 * One 3×3 conv layer on the running tfjs backend, the kernel a training step spends most of its
 * time in: the forward conv, or the forward conv and both gradients (`dx`, `dW`, by
 * `conv2dGradients`, as training computes them). `torch_conv.py` is PyTorch's side. The row
 * shows what the backend's conv itself costs against PyTorch's, the floor under the ratio of any
 * conv-heavy step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { conv2dGradients } from "../lib/engine/gradients.ts";
import type { Task, TaskSpec } from "./protocol.ts";

/** `{ batch, size, inC, outC, stride, backward }` → a task running the conv (and gradients). */
export function setupConv(spec: TaskSpec): Promise<Task> {
  const [b, s, c, o, stride] = [
    spec.batch,
    spec.size,
    spec.inC,
    spec.outC,
    spec.stride,
  ] as number[];
  const x = tf.randomNormal([b, s, s, c], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, c, o], 0, 0.1, "float32", 2) as tf.Tensor4D; // HWIO
  const os = Math.ceil(s / stride);
  const dy = tf.randomNormal([b, os, os, o], 0, 1, "float32", 3) as tf.Tensor4D;
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ];
  return Promise.resolve({
    async run() {
      const outs: tf.Tensor[] = [tf.conv2d(x, w, stride, pad)];
      if (spec.backward) {
        const { dx, dw } = conv2dGradients(x, w, dy, { strides: stride, pad });
        outs.push(dx, dw);
      }
      try {
        await Promise.all(outs.map((t) => t.data()));
      } finally {
        tf.dispose(outs);
      }
    },
    end() {
      tf.dispose([x, w, dy]);
    },
  });
}
