// The models trained here and shipped in weights/ (see weights/README.md for their figures on
// held-out data): they load by name and find what they were trained to find — shapes-tiny on a
// synthetic set it never saw, raccoon on the five fixture photos (all among the 160 it was
// trained on: no other raccoon photo is here; its held-out figures are the split run's).
import assert from "node:assert/strict";
import { loadDataset } from "../lib/data/dataset.ts";
import { writeSynthDataset } from "../lib/data/synth.ts";
import { ssd } from "./cli.ts";

/** IoU of two pixel `xyxy` boxes, written out here as an independent check. */
function iou(a: number[], b: number[]): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

type Found = { image: string; detections: { bbox: number[]; score: number; class: string }[] };

/** Fraction of ground-truth boxes that a same-class detection covers with IoU ≥ 0.5. */
async function recall(root: string, set: string | undefined, model: string, score: string) {
  const data = await loadDataset(root, { set });
  const r = await ssd(
    "detect",
    ...data.samples.map((s) => s.imagePath),
    "--model",
    model,
    "--json",
    "--score",
    score,
    "-q",
    "--no-save",
  );
  assert.equal(r.code, 0, r.stderr);
  const found = new Map((JSON.parse(r.stdout) as Found[]).map((f) => [f.image, f.detections]));
  let hit = 0, total = 0;
  for (const s of data.samples) {
    for (const o of s.objects) {
      total++;
      const name = data.classes[o.classIndex];
      const ok = (found.get(s.imagePath) ?? []).some((d) =>
        d.class === name && iou(d.bbox, o.bboxPx) >= 0.5
      );
      if (ok) hit++;
    }
  }
  return hit / total;
}

Deno.test("shapes-tiny finds the shapes of a synthetic set made with a seed it never saw", async () => {
  const dir = await Deno.makeTempDir();
  await writeSynthDataset({ out: dir, n: 20, seed: 424242, size: 160 });
  const r = await recall(dir, undefined, "shapes-tiny", "0.1"); // AP50 0.96 on 500 such images
  assert.ok(r >= 0.6, `recall at IoU 0.5: ${r.toFixed(3)}`);
});

Deno.test("raccoon finds the raccoons of the fixture photos", async () => {
  const root = new URL("../fixtures/datasets/raccoon_voc", import.meta.url).pathname;
  const r = await recall(root, "train", "raccoon", "0.5");
  assert.ok(r >= 0.6, `recall at IoU 0.5: ${r.toFixed(3)}`);
});
