/**
 * Times COCO and VOC evaluation on a seeded in-memory case of 5,000 images, 20 categories and
 * ~40,000 detections. Run: `deno run bench/eval_bench.ts`.
 */
import type { CocoInstances, CocoResult } from "../lib/data/coco.ts";
import { evaluateCoco } from "../lib/eval/coco.ts";
import { evaluateVoc } from "../lib/eval/voc.ts";
import { cocoToVoc } from "../lib/eval/evaluate.ts";
import { makeRng } from "../lib/data/rng.ts";

const rand = makeRng(2024);
const gt: CocoInstances = { images: [], annotations: [], categories: [] };
const results: CocoResult[] = [];
for (let c = 1; c <= 20; c++) gt.categories.push({ id: c, name: `class${c}` });
for (let i = 1; i <= 5000; i++) {
  gt.images.push({ id: i, file_name: `${i}.jpg`, width: 640, height: 480 });
  const objects = 1 + Math.floor(rand() * 6);
  for (let o = 0; o < objects; o++) {
    const w = 10 + rand() * 200,
      h = 10 + rand() * 200,
      x = rand() * (640 - w),
      y = rand() * (480 - h);
    const cat = 1 + Math.floor(rand() * 20);
    gt.annotations.push({
      id: gt.annotations.length + 1,
      image_id: i,
      category_id: cat,
      bbox: [x, y, w, h],
      area: w * h,
      iscrowd: rand() < 0.02 ? 1 : 0,
    });
    for (let d = 0; d < 2; d++) { // jittered hits
      const j = () => (rand() - 0.5) * 0.3;
      results.push({
        image_id: i,
        category_id: rand() < 0.9 ? cat : 1 + Math.floor(rand() * 20),
        bbox: [x + j() * w, y + j() * h, w * (1 + j()), h * (1 + j())],
        score: rand(),
      });
    }
  }
  for (let d = 0; d < 1 + Math.floor(rand() * 3); d++) { // background false positives
    const w = 10 + rand() * 100, h = 10 + rand() * 100;
    results.push({
      image_id: i,
      category_id: 1 + Math.floor(rand() * 20),
      bbox: [rand() * 500, rand() * 380, w, h],
      score: rand() * 0.5,
    });
  }
}
console.log(
  `${gt.images.length} images, ${gt.annotations.length} GT, ${results.length} detections`,
);
let t0 = performance.now();
const coco = evaluateCoco(gt, results);
console.log(
  `COCO: AP ${coco.stats[0].toFixed(4)} in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
);
t0 = performance.now();
const { images, dets, classes } = cocoToVoc(gt, results);
const voc07 = evaluateVoc(images, dets, { use07: true, classes });
const voc = evaluateVoc(images, dets, { use07: false, classes });
console.log(
  `VOC: mAP07 ${voc07.mAP.toFixed(4)}, mAP ${voc.mAP.toFixed(4)} in ${
    ((performance.now() - t0) / 1000).toFixed(2)
  } s (both metrics)`,
);
