/** The evaluation's analysis: confusion matrix, P/R/F1 against confidence, results writers. */
import assert from "node:assert/strict";
import { confusionMatrix } from "../lib/eval/confusion.ts";
import { confidenceCurves } from "../lib/eval/confidence_curves.ts";
import { evaluateVoc, type VocDetection, type VocGtObject } from "../lib/eval/voc.ts";
import { readVocDetections } from "../lib/eval/readers.ts";
import { writeCocoResults, writeVocDetections } from "../lib/eval/writers.ts";
import { readCocoResults } from "../lib/data/coco.ts";

type Box = [number, number, number, number];
const gt = (name: string, bbox: Box, difficult = false): VocGtObject => ({
  name,
  difficult,
  bbox,
});
const det = (imageId: string, score: number, bbox: Box): VocDetection => ({
  imageId,
  score,
  bbox,
});

Deno.test("confusionMatrix() counts a small case as by hand", () => {
  const images = new Map([
    ["one", [
      gt("cat", [1, 1, 10, 10]), // A
      gt("dog", [20, 20, 29, 29]), // B
      gt("cat", [40, 40, 49, 49], true), // D, difficult
    ]],
    ["two", [gt("dog", [1, 1, 10, 10])]], // C, never found
  ]);
  const dets = {
    cat: [
      det("one", 0.9, [1, 1, 10, 10]), // on A (IoU 1): cat → cat
      det("one", 0.6, [40, 40, 49, 49]), // on the difficult D: counts nowhere
      det("one", 0.3, [60, 60, 70, 70]), // below the confidence: left out
      det("two", 0.95, [50, 50, 60, 60]), // on nothing: background → cat
    ],
    dog: [
      det("one", 0.8, [1, 1, 10, 10]), // on A too, which the cat took: background → dog
      // on B: 8×10 of 10×10 + 10×10 − 80 = 80/120 = 0.67 > 0.5: dog → dog
      det("one", 0.7, [22, 20, 31, 29]),
    ],
  };
  const m = confusionMatrix(images, dets, ["cat", "dog"], { confidence: 0.5 });
  assert.deepEqual(m.labels, ["cat", "dog", "background"]);
  assert.deepEqual(m.matrix, [
    // predicted: cat, dog, background
    [1, 0, 0], // truth cat: A found as a cat (D is difficult)
    [0, 1, 1], // truth dog: B found, C missed
    [1, 1, 0], // background: the cat on nothing, the second detection of A
  ]);
  // IoU exactly at the threshold is not a match (voc_eval: ovmax > 0.5).
  const half = confusionMatrix(
    new Map([["i", [gt("cat", [1, 1, 10, 10])]]]),
    { cat: [det("i", 1, [1, 1, 10, 20])] }, // 100 / 200 = 0.5
    ["cat"],
    { confidence: 0 },
  );
  assert.deepEqual(half.matrix, [[0, 1], [1, 0]]);
});

Deno.test("confidenceCurves() gives P, R and F1 at each threshold and the best mean F1", () => {
  // Two classes, one image. cat: 2 objects, hits at 0.9 and 0.4, a miss at 0.6.
  // dog: 1 object, a hit at 0.8.
  const images = new Map([["i", [
    gt("cat", [1, 1, 10, 10]),
    gt("cat", [21, 1, 30, 10]),
    gt("dog", [41, 1, 50, 10]),
  ]]]);
  const dets = {
    cat: [
      det("i", 0.9, [1, 1, 10, 10]),
      det("i", 0.6, [61, 1, 70, 10]),
      det("i", 0.4, [21, 1, 30, 10]),
    ],
    dog: [det("i", 0.8, [41, 1, 50, 10])],
  };
  const c = confidenceCurves(evaluateVoc(images, dets));
  const at = (t: number) => Math.round(t * 1000);
  const cat = c.perClass.cat, dog = c.perClass.dog;
  // t = 0.7: cat keeps 1 (P 1, R 1/2, F1 2/3); dog keeps 1 (F1 1). Mean F1 5/6.
  assert.deepEqual([cat.precision[at(0.7)], cat.recall[at(0.7)]], [1, 0.5]);
  assert.ok(Math.abs(c.mean.f1[at(0.7)] - 5 / 6) < 1e-12);
  // t = 0.5: cat keeps 2 (P 1/2, R 1/2); t = 0.3: cat keeps 3 (P 2/3, R 1, F1 0.8).
  assert.deepEqual([cat.precision[at(0.5)], cat.recall[at(0.5)]], [0.5, 0.5]);
  assert.ok(Math.abs(cat.f1[at(0.3)] - 0.8) < 1e-12);
  // Above every score: P 1, R 0 (nothing kept).
  assert.deepEqual([dog.precision[at(0.95)], dog.recall[at(0.95)], dog.f1[at(0.95)]], [1, 0, 0]);
  // Best mean F1: (0.8 + 1) / 2 = 0.9 for t in (0, 0.4]; the lowest grid point wins.
  assert.equal(c.best.confidence, 0);
  assert.ok(Math.abs(c.best.f1 - 0.9) < 1e-12);
});

Deno.test("writeVocDetections() and writeCocoResults() read back identically through our readers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dets = {
      "dining table": [det("000001", 0.123456789012345, [1.5, 2.25, 30.000001, 40])],
      cat: [
        det("000002", 1 / 3, [-0.25, 1, 1e-7 + 5, 99.99999999999999]),
        det("000001", 0.5, [1, 2, 3, 4]),
      ],
      dog: [],
    };
    const written = await writeVocDetections(dir, "test", ["dining table", "cat", "dog"], dets);
    assert.equal(written.length, 3);
    assert.equal(await Deno.readTextFile(`${dir}/comp4_det_test_dog.txt`), "");
    const back = await readVocDetections(dir, { set: "test" });
    assert.deepEqual(back, dets);
    const bbox: Box = [0.1 + 0.2, 1 / 7, 10, 20];
    const results = [{ image_id: 7, category_id: 3, bbox, score: 0.7 }];
    await writeCocoResults(`${dir}/r.json`, results);
    assert.deepEqual(await readCocoResults(`${dir}/r.json`), results);
    await assert.rejects(
      writeVocDetections(dir, "test", ["a/b"], { "a/b": [] }),
      /cannot be part of a file name/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
