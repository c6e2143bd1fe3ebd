/**
 * Every public evaluation case and the official pycocotools demo, through the library, against
 * the reference outputs (pycocotools 2.0.11, py-faster-rcnn voc_eval) stored beside them.
 */
import assert from "node:assert/strict";
import { evaluateCoco } from "../lib/eval/coco.ts";
import { evaluateVoc } from "../lib/eval/voc.ts";
import { loadCocoPair, readVocDetections, readVocGroundTruth } from "../lib/eval/readers.ts";

const ROOT = new URL("../fixtures/eval/", import.meta.url).pathname;
const CASES = [
  "p01_basic",
  "p02_thresholds",
  "p03_crowd_difficult",
  "p04_area_ranges_float_gt",
  "p05_maxdets",
  "p06_ties_duplicates",
  "p07_empty_missing_border",
  "p08_large",
];
const TOL = 1e-6;

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOL, `${what}: got ${actual}, expected ${expected}`);
}

async function checkCoco(gtPath: string, dtPath: string, expectedPath: string): Promise<void> {
  const expected = JSON.parse(await Deno.readTextFile(expectedPath));
  const { gt, results } = await loadCocoPair(gtPath, dtPath);
  const res = evaluateCoco(gt, results);
  assert.equal(res.stats.length, 12);
  res.stats.forEach((v, i) =>
    close(v, expected.stats[i], `stats[${i}] ${expected.stats_names?.[i] ?? ""}`)
  );
  for (const pc of expected.per_category ?? []) {
    const c = res.categories.find((c) => c.id === pc.id);
    assert.ok(c !== undefined, `category ${pc.id} reported`);
    for (const key of ["ap", "ap50", "ap75", "ar100"] as const) {
      close(c[key], pc[key], `${pc.name} ${key}`);
    }
    assert.equal(c.numGt, pc.num_gt);
    assert.equal(c.numCrowd, pc.num_gt_crowd);
    assert.equal(c.numDt, pc.num_dt);
  }
}

for (const name of CASES) {
  Deno.test(`evaluateCoco() equals pycocotools on ${name}`, async () => {
    const dir = `${ROOT}cases/${name}`;
    await checkCoco(`${dir}/gt.json`, `${dir}/dt.json`, `${dir}/expected_coco.json`);
  });
}

Deno.test("evaluateCoco() reproduces all 12 bbox numbers of the official pycocotools demo", async () => {
  const dir = `${ROOT}coco_val2014_100`;
  await checkCoco(
    `${dir}/instances_val2014_100.json`,
    `${dir}/instances_val2014_fakebbox100_results.json`,
    `${dir}/expected_coco.json`,
  );
  // And the 3-decimal numbers of the official printed output (type=bbox block).
  const printed = await Deno.readTextFile(`${dir}/val2014_fake_eval_res.txt`);
  const block = printed.slice(printed.indexOf("type=bbox"), printed.indexOf("type=keypoints"));
  const official = [...block.matchAll(/= (-?\d\.\d{3})/g)].map((m) => Number(m[1]));
  assert.equal(official.length, 12);
  assert.equal(official[0], 0.505);
  const { gt, results } = await loadCocoPair(
    `${dir}/instances_val2014_100.json`,
    `${dir}/instances_val2014_fakebbox100_results.json`,
  );
  evaluateCoco(gt, results).stats.forEach((v, i) =>
    assert.equal(v.toFixed(3), official[i].toFixed(3))
  );
});

for (const name of CASES) {
  if (name === "p04_area_ranges_float_gt") continue; // no VOC form
  for (const use07 of [true, false]) {
    Deno.test(`evaluateVoc() equals voc_eval (${use07 ? "11-point" : "all-point"}) on ${name}`, async () => {
      const dir = `${ROOT}cases/${name}`;
      const expected = JSON.parse(await Deno.readTextFile(`${dir}/expected_voc.json`));
      const gt = await readVocGroundTruth(dir);
      const dets = await readVocDetections(`${dir}/dets`, {
        set: gt.set,
        imageIds: new Set(gt.images.keys()),
      });
      const res = evaluateVoc(gt.images, dets, { use07 });
      const key = use07 ? "ap_07" : "ap";
      const targets: number[] = [];
      for (const [cls, c] of Object.entries<Record<string, unknown>>(expected.classes)) {
        // Tie-order-sensitive classes: the stable-sort target, not the reference's quicksort.
        const want = (c.tie_order_sensitive ? c[`${key}_stable`] : c[key]) as number | null;
        const got = res.perClass[cls];
        assert.ok(got !== undefined, `class ${cls} reported`);
        assert.equal(got.npos, c.npos, `${cls} npos`);
        if (want === null) {
          assert.ok(Number.isNaN(got.ap), `${cls}: expected undefined AP, got ${got.ap}`);
        } else close(got.ap, want, `${cls} ${key}`);
        if (expected.mAP_classes.includes(cls)) targets.push(want as number);
      }
      assert.deepEqual([...res.mapClasses].sort(), [...expected.mAP_classes].sort());
      const anySensitive = Object.values<Record<string, unknown>>(expected.classes).some((c) =>
        c.tie_order_sensitive
      );
      const wantMap = anySensitive
        ? targets.reduce((s, v) => s + v, 0) / targets.length
        : expected[use07 ? "mAP_07" : "mAP"];
      close(res.mAP, wantMap, "mAP");
    });
  }
}
