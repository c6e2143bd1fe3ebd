/**
 * Forward pass of one of our models in onnxruntime: the model (as `forward_task.ts` builds it)
 * is exported with `writeOnnx` to the run's temp folder once, then `predict` of the onnxruntime
 * engine runs it on a `[B, H, W, 3]` batch (the NHWC → NCHW copy included, as detection pays
 * it).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { makeRng } from "../lib/data/rng.ts";
import { loadOnnxEngine } from "../lib/engine/onnx_engine.ts";
import { writeOnnx } from "../lib/export/onnx.ts";
import { benchModel } from "./forward_task.ts";
import type { Task, TaskSpec } from "./protocol.ts";

/** `{ model, batch, threads, tmpDir }` → a task running one onnxruntime forward pass. */
export async function setupOnnxForward(spec: TaskSpec): Promise<Task> {
  const path = `${spec.tmpDir}/${spec.model}.onnx`;
  if (!existsSync(path)) {
    const model = await benchModel(spec.model as string);
    try {
      await writeOnnx(model, path);
    } finally {
      model.dispose();
    }
  }
  const engine = await loadOnnxEngine(path, { threads: spec.threads as number });
  const [h, w] = engine.config.imageSize;
  const batch = spec.batch as number;
  const rand = makeRng(1);
  const images = new Float32Array(batch * h * w * 3).map(() => 2 * rand() - 1); // [B, H, W, 3]
  return {
    async run() {
      await engine.predict(images, batch);
    },
    end: () => engine.dispose(),
  };
}
