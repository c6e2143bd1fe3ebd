import assert from "node:assert/strict";
import { readCocoInstances, readCocoResults } from "../lib/data/coco.ts";
import { FileError } from "../lib/errors.ts";

const CASE = new URL("../fixtures/eval/cases/p04_area_ranges_float_gt/", import.meta.url).pathname;

Deno.test("readCocoInstances() reads images, annotations with their area field, categories", async () => {
  const gt = await readCocoInstances(`${CASE}gt.json`);
  assert.equal(gt.images.length, 14);
  assert.equal(gt.annotations.length, 48);
  assert.deepEqual(gt.categories.map((c) => c.id).sort((a, b) => a - b), [1, 2, 44, 72]);
  // p04 README: a bottle GT with bbox 50x50 has area field 1000.5 (not w*h).
  assert.ok(gt.annotations.some((a) => a.bbox[2] === 50 && a.bbox[3] === 50 && a.area === 1000.5));
});

Deno.test("readCocoResults() and readCocoInstances() throw FileError on malformed files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, RegExp][] = [
      ["{", /not valid JSON/],
      ['{"a":1}', /expected a COCO results array/],
      ['[{"image_id":1,"category_id":1,"bbox":[1,2,3],"score":1}]', /\[0\]: "bbox" must be/],
      [
        '[{"image_id":"1","category_id":1,"bbox":[1,2,3,4],"score":1}]',
        /"image_id" must be a finite number/,
      ],
    ];
    for (const [text, pattern] of cases) {
      await Deno.writeTextFile(`${dir}/r.json`, text);
      await assert.rejects(readCocoResults(`${dir}/r.json`), (err: unknown) => {
        assert.ok(err instanceof FileError);
        assert.match(err.message, pattern);
        return true;
      });
    }
    await Deno.writeTextFile(`${dir}/g.json`, '{"images":[],"categories":[]}');
    await assert.rejects(readCocoInstances(`${dir}/g.json`), /"annotations" must be an array/);
    await assert.rejects(readCocoInstances(`${dir}/missing.json`), /cannot read: no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
