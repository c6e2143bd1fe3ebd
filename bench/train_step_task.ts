/**
 * One SGD training step (`trainStep`: forward in training mode, matching, MultiBox loss with
 * hard negative mining, gradients, SGD momentum 0.9 / weight decay 5e-4) of a random-weight
 * model on seeded random images and boxes, as `torch_train_step.py` does on PyTorch's side.
 * With `engine: "onnx"` the same step runs in {@link OnnxTrainer} (the whole step as one ONNX
 * graph in onnxruntime).
 *
 * @module
 */
import { getConfig, numClasses } from "../lib/config.ts";
import { OnnxTrainer } from "../lib/engine/onnx_trainer.ts";
import { makeRng } from "../lib/data/rng.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { priorsTensor } from "../lib/priors.ts";
import { Sgd } from "../lib/train/sgd.ts";
import { type StepBatch, trainStep } from "../lib/train/step.ts";
import type { Task, TaskSpec } from "./protocol.ts";

/** `batch` images of uniform noise in [−1, 1] and 1–4 boxes of 5–60 % of the side each. */
function randomBatch(batch: number, size: [number, number], classes: number): StepBatch {
  const [h, w] = size;
  const rand = makeRng(7);
  const images = new Float32Array(batch * h * w * 3).map(() => 2 * rand() - 1); // [B, H, W, 3]
  const boxes: Float32Array[] = [], labels: Int32Array[] = [];
  for (let k = 0; k < batch; k++) {
    const g = 1 + Math.floor(rand() * 4);
    const b = new Float32Array(4 * g), l = new Int32Array(g); // [G, 4] xyxy, [G]
    for (let i = 0; i < g; i++) {
      const bw = 0.05 + rand() * 0.55, bh = 0.05 + rand() * 0.55;
      const x1 = rand() * (1 - bw), y1 = rand() * (1 - bh);
      b.set([x1, y1, x1 + bw, y1 + bh], 4 * i);
      l[i] = 1 + Math.floor(rand() * (classes - 1));
    }
    boxes.push(b);
    labels.push(l);
  }
  return { images, boxes, labels };
}

/** `{ model, batch }` → a task running one training step (the warm-up makes the momenta). */
export async function setupTrainStep(spec: TaskSpec): Promise<Task> {
  const cfg = getConfig(spec.model as string);
  const model = buildModel(cfg, { seed: 1 }); // not 0: tfjs draws a random seed for seed 0
  const priors = priorsTensor(cfg); // [P, 4] cxcywh
  const data = randomBatch(spec.batch as number, cfg.imageSize, numClasses(cfg));
  if (spec.engine === "onnx") {
    const trainer = await OnnxTrainer.create(model.graph, cfg, model.stateDict(), {
      threads: spec.threads as number,
    });
    model.dispose();
    return {
      async run() {
        const { loss } = await trainer.step(data, { priors, lr: 1e-3 });
        return { loss };
      },
      async end() {
        priors.dispose();
        await trainer.dispose();
      },
    };
  }
  const sgd = new Sgd(model.params, { momentum: 0.9, weightDecay: 5e-4 });
  return {
    async run() {
      const { loss } = await trainStep(model, data, { priors, optimizer: sgd, lr: 1e-3 });
      return { loss };
    },
    end() {
      sgd.dispose();
      priors.dispose();
      model.dispose();
    },
  };
}
