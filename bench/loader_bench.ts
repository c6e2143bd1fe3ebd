/**
 * Throughput of the data loader (decode + augment + resize + normalise) on the 160 raccoon
 * photos of `../shared/data/raccoon/VOC`, with 0 (main thread), 1 and 2 workers.
 *
 * Run: deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run \
 *        bench/loader_bench.ts [--voc DIR] [--size 300] [--epochs 2] [--no-augment]
 * Prints one line per setting: images/s, and the total wall time. The first epoch of each
 * setting also pays for worker start-up; both epochs are counted.
 */
import { loadDataset } from "../lib/data/dataset.ts";
import { flag } from "../scripts/args.ts";
import { createLoader } from "../lib/data/loader.ts";

const root = flag("--voc", new URL("../../shared/data/raccoon/VOC", import.meta.url).pathname);
const size = Number(flag("--size", "300"));
const epochs = Number(flag("--epochs", "2"));
const augment = !Deno.args.includes("--no-augment");
const workerCounts = flag("--workers", "0,1,2").split(",").map(Number);

const dataset = await loadDataset(root, { set: "train" });
const { samples } = dataset;

console.error(
  `${samples.length} images, ${size}×${size}, augment ${augment}, ${epochs} epochs, ` +
    `${navigator.hardwareConcurrency} cores`,
);

for (const workers of workerCounts) {
  const loader = createLoader(dataset, {
    batchSize: 16,
    imageSize: [size, size],
    mean: [123, 117, 104], // ssd300's preprocess
    std: [1, 1, 1],
    augment,
    shuffle: true,
    seed: 1,
    workers,
    prefetch: 2,
  });
  const t0 = performance.now();
  let images = 0;
  for (let e = 0; e < epochs; e++) {
    for await (const batch of loader.epoch(e)) images += batch.ids.length;
  }
  const s = (performance.now() - t0) / 1000;
  loader.close();
  console.log(
    `workers ${workers}: ${(images / s).toFixed(1)} images/s (${images} images in ${
      s.toFixed(2)
    } s)`,
  );
}
