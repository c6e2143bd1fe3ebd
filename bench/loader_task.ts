/**
 * One epoch of the data loader (decode + augment + resize + normalize, batches of 16 at
 * 300×300, ssd300's mean) over a VOC folder, with 0 (main thread), 1 or 2 Web Workers. The
 * loader lives across epochs, as in training; the warm-up epoch pays the worker start.
 *
 * @module
 */
import { loadDataset } from "../lib/data/dataset.ts";
import { createLoader } from "../lib/data/loader.ts";
import type { Task, TaskSpec } from "./protocol.ts";

/** `{ voc, workers }` → a task loading one epoch; it answers the images loaded. */
export async function setupLoader(spec: TaskSpec): Promise<Task> {
  const dataset = await loadDataset(spec.voc as string, { set: "train" });
  const loader = createLoader(dataset, {
    batchSize: 16,
    imageSize: [300, 300],
    mean: [123, 117, 104],
    std: [1, 1, 1],
    augment: true,
    shuffle: true,
    seed: 1,
    workers: spec.workers as number,
    prefetch: 2,
  });
  let epoch = 0;
  return {
    async run() {
      let images = 0;
      for await (const batch of loader.epoch(epoch++)) images += batch.ids.length;
      return { images };
    },
    end: () => loader.close(),
  };
}
