/**
 * Evaluation at scale on the 5,000-image case of `inputs.ts`: `coco_eval` is `evaluateCoco`
 * (the 12 COCO stats; `torch_coco.py` runs pycocotools on the same files); `voc_eval` is
 * `evaluateVoc`, VOC07 11-point and all-point mAP. JSON parsing is outside the timing.
 *
 * @module
 */
import type { CocoInstances, CocoResult } from "../lib/data/coco.ts";
import { evaluateCoco } from "../lib/eval/coco.ts";
import { cocoToVoc } from "../lib/eval/evaluate.ts";
import { evaluateVoc } from "../lib/eval/voc.ts";
import type { Task, TaskSpec } from "./protocol.ts";

/** `{ task, gt, results }` → a task evaluating every detection; it answers AP or mAP. */
export async function setupEval(spec: TaskSpec): Promise<Task> {
  const gt = JSON.parse(await Deno.readTextFile(spec.gt as string)) as CocoInstances;
  const results = JSON.parse(await Deno.readTextFile(spec.results as string)) as CocoResult[];
  const run = spec.task === "coco_eval"
    ? () => ({ AP: evaluateCoco(gt, results).stats[0] })
    : () => {
      const { images, dets, classes } = cocoToVoc(gt, results);
      evaluateVoc(images, dets, { use07: true, classes });
      return { mAP: evaluateVoc(images, dets, { use07: false, classes }).mAP };
    };
  return { run: () => Promise.resolve(run()), end() {} };
}
