/**
 * Forward pass of one of our models on the running tfjs backend: `predict` on a resident
 * `[B, H, W, 3]` batch, both outputs read back. The face models carry their shipped weights
 * (the same .pth as PyTorch's side loads); the others torchvision's architecture with random
 * weights (speed does not depend on the values).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { loadModel } from "../lib/model/load.ts";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
import type { Task, TaskSpec } from "./protocol.ts";

/** The model a forward row names: shipped weights for the face presets, else random ones. */
export async function benchModel(name: string): Promise<SsdModel> {
  return name.startsWith("face-")
    ? await loadModel(name)
    : buildModel(getConfig(name), { seed: 1 });
}

/** `{ model, batch }` → a task running one forward pass. */
export async function setupForward(spec: TaskSpec): Promise<Task> {
  const model = await benchModel(spec.model as string);
  const [h, w] = model.config.imageSize;
  const batch = spec.batch as number;
  const images = tf.randomUniform([batch, h, w, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  return {
    async run() {
      const { locPred, clsLogits } = model.predict(images); // [B, P, 4], [B, P, C]
      try {
        await Promise.all([locPred.data(), clsLogits.data()]);
      } finally {
        tf.dispose([locPred, clsLogits]);
      }
    },
    end() {
      images.dispose();
      model.dispose();
    },
  };
}
