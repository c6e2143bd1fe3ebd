import assert from "node:assert/strict";
import { SYNTH_CLASSES } from "../lib/classes.ts";
import { checkDataset } from "../lib/data/check.ts";
import { readCocoInstances } from "../lib/data/coco.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { readImage } from "../lib/data/image.ts";
import { makeRng } from "../lib/data/rng.ts";
import { makeSynthImage, writeSynthDataset } from "../lib/data/synth.ts";
import { rasterizeShape, type SynthShape } from "../lib/data/synth_draw.ts";
import { parseVocXml } from "../lib/data/voc.ts";
import { FileError } from "../lib/errors.ts";

async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else {
        const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
        out.set(
          path.slice(root.length),
          [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join(""),
        );
      }
    }
  };
  await walk(root);
  return out;
}

const shape = (classIndex: number, cx: number, cy: number, w: number, h: number, variant = 0) =>
  ({ classIndex, cx, cy, w, h, color: [0, 0, 0], variant }) as SynthShape;

Deno.test("rasterizeShape() covers the pixels whose centres are inside (hand-counted)", () => {
  // Circle of radius 2 centred on the corner between 4 pixels: centres at (±0.5, ±0.5),
  // (±1.5, ±0.5), (±0.5, ±1.5) are inside (r² ≤ 4), (±1.5, ±1.5) are not: 12 pixels.
  const c = rasterizeShape(shape(0, 10, 10, 4, 4), 32);
  assert.equal(c.total, 12);
  assert.deepEqual(c.boxPx, [8, 8, 12, 12]);
  // An up-triangle of width 4, height 4 at (10, 10): row v = (y + 0.5 − 10)/2 keeps
  // |u| ≤ (v + 1)/2, i.e. 0, 2, 2, 4 pixels per row from the top → 8 pixels, box rows 9…11.
  const t = rasterizeShape(shape(2, 10, 10, 4, 4, 0), 32);
  assert.equal(t.total, 8);
  assert.deepEqual(t.boxPx, [8, 9, 12, 12]);
  // The same triangle pointing down loses the bottom row instead.
  assert.deepEqual(rasterizeShape(shape(2, 10, 10, 4, 4, 0.9), 32).boxPx, [8, 8, 12, 11]);
  // A cross 6×6 with arm half-thickness 1/3 of the half-side: arms 2 pixels wide → 6·2·2 − 4.
  assert.equal(rasterizeShape(shape(3, 10, 10, 6, 6, 1 / 3), 32).total, 20);
  // A 6×4 rectangle centred on the right border (columns 29…34): 3 of 6 columns inside.
  const r = rasterizeShape(shape(1, 32, 5, 6, 4), 32);
  assert.equal(r.total, 24);
  assert.equal(r.pixels.length, 12);
  assert.deepEqual(r.boxPx, [29, 3, 32, 7]);
});

Deno.test("makeSynthImage() varies classes, scales, aspects, occlusion and borders", () => {
  const size = 160;
  const counts = new Array(SYNTH_CLASSES.length).fill(0);
  let small = 0, large = 0, wide = 0, tall = 0, truncated = 0, overlapping = 0, objects = 0;
  for (let seed = 0; seed < 60; seed++) {
    const img = makeSynthImage(size, makeRng(seed));
    assert.ok(img.objects.length >= 1 && img.objects.length <= 6);
    const boxes = img.objects.map((o) => o.boxPx);
    for (const o of img.objects) {
      const [x1, y1, x2, y2] = o.boxPx;
      assert.ok(Number.isInteger(x1) && Number.isInteger(y2));
      assert.ok(0 <= x1 && x1 + 6 <= x2 && x2 <= size && 0 <= y1 && y1 + 6 <= y2 && y2 <= size);
      counts[o.classIndex]++;
      const side = Math.sqrt((x2 - x1) * (y2 - y1)) / size;
      if (side < 0.12) small++;
      if (side > 0.4) large++;
      if ((x2 - x1) / (y2 - y1) > 1.5) wide++;
      if ((y2 - y1) / (x2 - x1) > 1.5) tall++;
      if (o.truncated) {
        truncated++;
        assert.ok(x1 === 0 || y1 === 0 || x2 === size || y2 === size, "truncated touches a border");
      }
      objects++;
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        if (
          Math.min(a[2], b[2]) > Math.max(a[0], b[0]) && Math.min(a[3], b[3]) > Math.max(a[1], b[1])
        ) overlapping++;
      }
    }
  }
  assert.ok(counts.every((c) => c > objects / 8), `classes ${counts}`);
  for (const [name, v] of Object.entries({ small, large, wide, tall, truncated, overlapping })) {
    assert.ok(v >= 5, `${name}: ${v} of ${objects}`);
  }
});

Deno.test("writeSynthDataset() writes VOC that the VOC reader parses, with 1-based boxes", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await writeSynthDataset({ out, n: 5, seed: 3, size: 96 });
    assert.deepEqual({ ...r, objects: 0 }, { root: out, images: 5, objects: 0 });
    const train = (await Deno.readTextFile(`${out}/ImageSets/Main/train.txt`)).trim().split("\n");
    const val = (await Deno.readTextFile(`${out}/ImageSets/Main/val.txt`)).trim().split("\n");
    assert.deepEqual([...train, ...val], ["000001", "000002", "000003", "000004", "000005"]);
    assert.equal(val.length, 1);
    let objects = 0;
    for (const id of [...train, ...val]) {
      const file = `${out}/Annotations/${id}.xml`;
      const ann = parseVocXml(await Deno.readTextFile(file), file);
      assert.equal(ann.filename, `${id}.jpg`);
      assert.deepEqual([ann.width, ann.height], [96, 96]);
      const img = await readImage(`${out}/JPEGImages/${id}.jpg`);
      assert.deepEqual([img.width, img.height], [96, 96]);
      for (const o of ann.objects) {
        assert.ok(SYNTH_CLASSES.includes(o.name));
        const [x1, y1, x2, y2] = o.bbox;
        assert.ok(o.bbox.every(Number.isInteger));
        assert.ok(1 <= x1 && x1 < x2 && x2 <= 96 && 1 <= y1 && y1 < y2 && y2 <= 96, `${o.bbox}`);
        objects++;
      }
    }
    assert.equal(objects, r.objects);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("writeSynthDataset() writes COCO that the COCO reader parses", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await writeSynthDataset({ out, n: 4, seed: 9, size: 64, format: "coco" });
    const gt = await readCocoInstances(`${out}/annotations.json`);
    assert.deepEqual(
      gt.categories.map((c) => [c.id, c.name]),
      SYNTH_CLASSES.map((n, i) => [i + 1, n]),
    );
    assert.deepEqual(gt.images.map((i) => i.id), [1, 2, 3, 4]);
    assert.equal(gt.annotations.length, r.objects);
    assert.equal(new Set(gt.annotations.map((a) => a.id)).size, r.objects);
    for (const a of gt.annotations) {
      const [x, y, w, h] = a.bbox;
      assert.ok(x >= 0 && y >= 0 && w >= 6 && h >= 6 && x + w <= 64 && y + h <= 64);
      assert.equal(a.area, w * h);
    }
    for (const im of gt.images) {
      const img = await readImage(`${out}/images/${im.file_name}`);
      assert.deepEqual([img.width, img.height], [64, 64]);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("writeSynthDataset() writes YOLO whose boxes, read back, are the VOC dataset's of the same seed", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    await writeSynthDataset({ out: dirs[0], n: 10, seed: 5, size: 96, format: "voc" });
    await writeSynthDataset({ out: dirs[1], n: 10, seed: 5, size: 96, format: "yolo" });
    for (const [voc, yolo] of [["train", "train"], ["val", "val"]]) {
      const a = await loadDataset(dirs[0], { set: voc });
      const b = await loadDataset(`${dirs[1]}/data.yaml`, { set: yolo });
      assert.deepEqual(b.classes, [...SYNTH_CLASSES]);
      assert.deepEqual(b.samples.map((s) => s.id), a.samples.map((s) => s.id));
      assert.equal(a.samples.length, voc === "train" ? 8 : 2);
      a.samples.forEach((s, i) => {
        const t = b.samples[i];
        assert.equal(t.objects.length, s.objects.length);
        s.objects.forEach((o, j) => {
          // VOC infers its classes sorted; YOLO has data.yaml's order.
          assert.equal(b.classes[t.objects[j].classIndex], a.classes[o.classIndex]);
          for (let k = 0; k < 4; k++) {
            assert.ok(Math.abs(t.objects[j].bboxPx[k] - o.bboxPx[k]) < 1e-3, `${s.id} ${j}`);
          }
        });
      });
    }
    assert.equal((await checkDataset(dirs[1])).errors, 0);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("writeSynthDataset() gives the same bytes for the same seed, others for another", async () => {
  const dirs = await Promise.all([0, 1, 2].map(() => Deno.makeTempDir()));
  try {
    for (const format of ["voc", "coco", "yolo"] as const) {
      await writeSynthDataset({ out: `${dirs[0]}/${format}`, n: 4, seed: 11, size: 80, format });
      await writeSynthDataset({ out: `${dirs[1]}/${format}`, n: 4, seed: 11, size: 80, format });
      await writeSynthDataset({ out: `${dirs[2]}/${format}`, n: 4, seed: 12, size: 80, format });
      const [a, b, c] = await Promise.all(dirs.map((d) => hashTree(`${d}/${format}`)));
      assert.ok(a.size >= 5);
      assert.deepEqual(a, b);
      const differ = [...a].filter(([k, v]) => c.get(k) !== v).length;
      assert.ok(differ >= 4, `${format}: ${differ} files differ`);
    }
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("writeSynthDataset() rejects a bad n and size", async () => {
  await assert.rejects(writeSynthDataset({ out: "/nonexistent-unused", n: 0 }), RangeError);
  const out = await Deno.makeTempDir();
  try {
    await assert.rejects(
      writeSynthDataset({ out, n: 1, size: 8 }),
      /size must be an integer in \[32, 4096\]/,
    );
    await assert.rejects(writeSynthDataset({ out, n: 1, size: 100000 }), RangeError);
    assert.deepEqual([...Deno.readDirSync(out)], []); // nothing written before the check
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("writeSynthDataset() refuses a folder that already holds files, and changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/train.txt`, "keep me\n");
  await assert.rejects(
    () => writeSynthDataset({ out: dir, n: 2, seed: 1, size: 64 }),
    (err: Error) => err instanceof FileError && /folder is not empty/.test(err.message),
  );
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["train.txt"]);
  assert.equal(await Deno.readTextFile(`${dir}/train.txt`), "keep me\n");
});
