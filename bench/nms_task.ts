/**
 * Detection selection on one image (`selectDetections`: per class score threshold, top-k,
 * clip, per-class NMS, the best `maxDetections`) over the decoded boxes and class
 * probabilities of `inputs.ts`; `torch_nms.py` runs torchvision's on the same arrays.
 *
 * @module
 */
import { type PostprocessOptions, selectDetections } from "../lib/nms.ts";
import type { Task, TaskSpec } from "./protocol.ts";

/** Reads a raw little-endian float32 file. */
export async function readF32(path: string): Promise<Float32Array> {
  const bytes = await Deno.readFile(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** `{ boxes, scores, post }` → a task selecting detections; it answers how many it kept. */
export async function setupNms(spec: TaskSpec): Promise<Task> {
  const boxes = await readF32(spec.boxes as string); // [P, 4] xyxy
  const scores = await readF32(spec.scores as string); // [P, C]
  const post = spec.post as PostprocessOptions;
  return {
    run: () => Promise.resolve({ kept: selectDetections(boxes, scores, post).scores.length }),
    end() {},
  };
}
