/**
 * The inputs both sides of a row read, written once per run by the driver into its temp
 * folder, so ours and PyTorch's work on the same numbers:
 * - NMS: `nms_boxes.f32` `[P, 4]` `xyxy` (the ssd300 priors decoded with offsets N(0, 1)) and
 *   `nms_scores.f32` `[P, C]` class probabilities (softmax of logits N(0, 2²)), P = 8732, C = 21;
 * - matching: `match_priors.f32` `[P, 4]` cxcywh (ssd300-coco) and `match_targets.json`, 8
 *   images of 3–7 boxes `xyxy` with labels 1…90;
 * - evaluation: `coco_gt.json` and `coco_results.json`, 5,000 images, 20 categories.
 * Float files are raw little-endian float32, row-major.
 *
 * @module
 */
import { decodeBoxesArray } from "../lib/boxes.ts";
import { getConfig } from "../lib/config.ts";
import type { CocoInstances, CocoResult } from "../lib/data/coco.ts";
import { makeRng, type Rng } from "../lib/data/rng.ts";
import { generatePriors } from "../lib/priors.ts";

/** Where the inputs are, and their sizes. */
export interface BenchInputs {
  nms: { boxes: string; scores: string; priors: number; classes: number };
  match: { priors: string; targets: string; batch: number; classes: number };
  coco: { gt: string; results: string; images: number; detections: number };
}

/** A standard normal draw (Box–Muller). */
function normal(rand: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const writeF32 = (path: string, values: Float32Array) =>
  Deno.writeFile(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));

async function writeNms(dir: string): Promise<BenchInputs["nms"]> {
  const cfg = getConfig("ssd300");
  const priors = generatePriors(cfg); // [P, 4] cxcywh
  const p = priors.length / 4, c = cfg.classes.length + 1;
  const rand = makeRng(11);
  const codes = new Float32Array(4 * p).map(() => normal(rand)); // [P, 4]
  const boxes = decodeBoxesArray(codes, priors, { variances: cfg.variances }); // [P, 4] xyxy
  const scores = new Float32Array(p * c).map(() => Math.exp(2 * normal(rand))); // [P, C]
  for (let j = 0; j < p; j++) {
    const row = scores.subarray(j * c, (j + 1) * c);
    const sum = row.reduce((a, b) => a + b, 0);
    row.forEach((v, k) => row[k] = v / sum);
  }
  const out = { boxes: `${dir}/nms_boxes.f32`, scores: `${dir}/nms_scores.f32` };
  await writeF32(out.boxes, boxes);
  await writeF32(out.scores, scores);
  return { ...out, priors: p, classes: c };
}

async function writeMatch(dir: string): Promise<BenchInputs["match"]> {
  const batch = 8, classes = 91;
  const rand = makeRng(2024);
  const targets = Array.from({ length: batch }, () => {
    const g = 3 + Math.floor(rand() * 5); // 3 … 7, about 5
    const boxes: number[] = [], labels: number[] = [];
    for (let i = 0; i < g; i++) {
      const w = 0.05 + rand() * 0.5, h = 0.05 + rand() * 0.5;
      const x1 = rand() * (1 - w), y1 = rand() * (1 - h);
      boxes.push(x1, y1, x1 + w, y1 + h);
      labels.push(1 + Math.floor(rand() * (classes - 1)));
    }
    return { boxes, labels };
  });
  const out = { priors: `${dir}/match_priors.f32`, targets: `${dir}/match_targets.json` };
  await writeF32(out.priors, generatePriors(getConfig("ssd300-coco")));
  await Deno.writeTextFile(out.targets, JSON.stringify(targets));
  return { ...out, batch, classes };
}

/** 5,000 images of 1–6 objects; two jittered hits per object and 1–3 false positives each. */
async function writeCoco(dir: string): Promise<BenchInputs["coco"]> {
  const rand = makeRng(2024);
  const gt: CocoInstances = { images: [], annotations: [], categories: [] };
  const results: CocoResult[] = [];
  for (let c = 1; c <= 20; c++) gt.categories.push({ id: c, name: `class${c}` });
  for (let i = 1; i <= 5000; i++) {
    gt.images.push({ id: i, file_name: `${i}.jpg`, width: 640, height: 480 });
    const objects = 1 + Math.floor(rand() * 6);
    for (let o = 0; o < objects; o++) {
      const w = 10 + rand() * 200, h = 10 + rand() * 200;
      const x = rand() * (640 - w), y = rand() * (480 - h);
      const cat = 1 + Math.floor(rand() * 20);
      gt.annotations.push({
        id: gt.annotations.length + 1,
        image_id: i,
        category_id: cat,
        bbox: [x, y, w, h],
        area: w * h,
        iscrowd: rand() < 0.02 ? 1 : 0,
      });
      for (let d = 0; d < 2; d++) {
        const j = () => (rand() - 0.5) * 0.3;
        results.push({
          image_id: i,
          category_id: rand() < 0.9 ? cat : 1 + Math.floor(rand() * 20),
          bbox: [x + j() * w, y + j() * h, w * (1 + j()), h * (1 + j())],
          score: rand(),
        });
      }
    }
    for (let d = 0; d < 1 + Math.floor(rand() * 3); d++) {
      const w = 10 + rand() * 100, h = 10 + rand() * 100;
      results.push({
        image_id: i,
        category_id: 1 + Math.floor(rand() * 20),
        bbox: [rand() * 500, rand() * 380, w, h],
        score: rand() * 0.5,
      });
    }
  }
  const out = { gt: `${dir}/coco_gt.json`, results: `${dir}/coco_results.json` };
  await Deno.writeTextFile(out.gt, JSON.stringify(gt));
  await Deno.writeTextFile(out.results, JSON.stringify(results));
  return { ...out, images: gt.images.length, detections: results.length };
}

/** Writes every shared input into `dir`. */
export async function writeInputs(dir: string): Promise<BenchInputs> {
  return { nms: await writeNms(dir), match: await writeMatch(dir), coco: await writeCoco(dir) };
}
