import assert from "node:assert/strict";
import { findSet, loadDataset, readDataset } from "../lib/data/dataset.ts";
import { writeImage } from "../lib/data/image.ts";
import { FileError } from "../lib/errors.ts";

const RACCOON = new URL("../fixtures/datasets/raccoon_voc", import.meta.url).pathname;
const blank = (width: number, height: number) => ({
  width,
  height,
  data: new Uint8Array(width * height * 3),
});

Deno.test("loadDataset() reads a VOC root: set, inferred classes, 1-based boxes to 0-based", async () => {
  const ds = await loadDataset(RACCOON);
  assert.equal(ds.format, "voc");
  assert.deepEqual(ds.classes, ["raccoon"]);
  assert.deepEqual(ds.samples.map((s) => s.id), [
    "raccoon-131",
    "raccoon-150",
    "raccoon-151",
    "raccoon-159",
    "raccoon-39",
  ]);
  const s = ds.samples[0];
  // raccoon-131.xml: size 259x194, bndbox 1 1 199 184 (1-based inclusive).
  assert.deepEqual([s.width, s.height], [259, 194]);
  assert.equal(s.imagePath, `${RACCOON}/JPEGImages/raccoon-131.jpg`);
  assert.deepEqual(s.objects, [{ bboxPx: [0, 0, 199, 184], classIndex: 0, difficult: false }]);
});

Deno.test("loadDataset() uses given VOC classes and throws the first unknown one", async () => {
  const ds = await loadDataset(RACCOON, { classes: ["dog", "raccoon"] });
  assert.equal(ds.samples[0].objects[0].classIndex, 1);
  await assert.rejects(loadDataset(RACCOON, { classes: ["dog"] }), (err: Error) => {
    assert.ok(err instanceof FileError);
    assert.equal(err.file, `${RACCOON}/Annotations/raccoon-131.xml`);
    assert.equal(err.reason, 'object 1 (raccoon): unknown class "raccoon"');
    return true;
  });
});

Deno.test("loadDataset() reads COCO: [x,y,w,h] to corners, category ids to sorted indices, crowd as difficult, image folder found", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/annotations`);
  await Deno.mkdir(`${root}/val`);
  await writeImage(`${root}/val/a.png`, blank(40, 30));
  await Deno.writeTextFile(
    `${root}/annotations/instances_val.json`,
    JSON.stringify({
      images: [{ id: 7, file_name: "a.png", width: 40, height: 30 }, {
        id: 9,
        file_name: "b.png",
        width: 8,
        height: 8,
      }],
      annotations: [
        { id: 1, image_id: 7, category_id: 18, bbox: [2, 3, 10, 5], area: 50, iscrowd: 0 },
        { id: 2, image_id: 7, category_id: 3, bbox: [0.5, 1.5, 4, 4], area: 16, iscrowd: 1 },
      ],
      categories: [{ id: 18, name: "dog" }, { id: 3, name: "car" }],
    }),
  );
  for (const path of [`${root}/annotations/instances_val.json`, root]) {
    const ds = await loadDataset(path);
    assert.equal(ds.format, "coco");
    assert.deepEqual(ds.classes, ["car", "dog"]);
    assert.deepEqual(ds.samples.map((s) => [s.id, s.imagePath]), [["7", `${root}/val/a.png`], [
      "9",
      `${root}/val/b.png`,
    ]]);
    assert.deepEqual(ds.samples[0].objects, [
      { bboxPx: [2, 3, 12, 8], classIndex: 1, difficult: false },
      { bboxPx: [0.5, 1.5, 4.5, 5.5], classIndex: 0, difficult: true },
    ]);
    assert.deepEqual(ds.samples[1].objects, []);
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadDataset() reads YOLO: names from data.yaml, normalized cx cy w h scaled by the image size", async () => {
  const root = await Deno.makeTempDir();
  for (const d of ["images/train", "labels/train"]) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  await writeImage(`${root}/images/train/a.png`, blank(100, 50));
  await writeImage(`${root}/images/train/b.png`, blank(20, 20));
  await Deno.writeTextFile(`${root}/labels/train/a.txt`, "1 0.5 0.5 0.2 0.4\n0 0.1 0.1 0.2 0.2\n");
  await Deno.writeTextFile(`${root}/labels/train/b.txt`, "");
  await Deno.writeTextFile(
    `${root}/data.yaml`,
    "path: .\ntrain: images/train\nnames:\n  0: cat\n  1: hot dog\n",
  );
  const ds = await loadDataset(root, { set: "train" });
  assert.equal(ds.format, "yolo");
  assert.deepEqual(ds.classes, ["cat", "hot dog"]);
  const a = ds.samples.find((s) => s.id === "a")!;
  assert.deepEqual([a.width, a.height], [100, 50]);
  const round = (b: number[]) => b.map((v) => Math.round(v * 1e6) / 1e6);
  assert.deepEqual(round(a.objects[0].bboxPx), [40, 15, 60, 35]);
  assert.equal(a.objects[0].classIndex, 1);
  assert.deepEqual(round(a.objects[1].bboxPx), [0, 0, 20, 10]);
  assert.deepEqual(ds.samples.find((s) => s.id === "b")!.objects, []);
  await Deno.remove(root, { recursive: true });
});

/** A Roboflow YOLO export: `train/images`, `valid/images`, and a data.yaml naming `../train/images`. */
async function roboflowExport(): Promise<string> {
  const root = await Deno.makeTempDir();
  for (const split of ["train", "valid"]) {
    for (const d of ["images", "labels"]) {
      await Deno.mkdir(`${root}/${split}/${d}`, { recursive: true });
    }
  }
  await writeImage(`${root}/train/images/a.png`, blank(100, 50));
  await writeImage(`${root}/train/images/b.jpg`, blank(40, 40));
  await writeImage(`${root}/valid/images/c.png`, blank(10, 20));
  await Deno.writeTextFile(`${root}/train/labels/a.txt`, "1 0.5 0.5 0.2 0.4\n");
  await Deno.writeTextFile(`${root}/train/labels/b.txt`, "0 0.5 0.5 1 1\n");
  await Deno.writeTextFile(`${root}/valid/labels/c.txt`, "0 0.25 0.5 0.5 1\n");
  await Deno.writeTextFile(`${root}/README.roboflow.txt`, "exported\n");
  await Deno.writeTextFile(
    `${root}/data.yaml`,
    "train: ../train/images\nval: ../valid/images\n\nnc: 2\nnames: ['cat', 'dog']\n",
  );
  return root;
}

Deno.test("loadDataset() reads a Roboflow YOLO export: splits from data.yaml, labels beside images/", async () => {
  const root = await roboflowExport();
  for (const path of [root, `${root}/data.yaml`]) {
    const train = await loadDataset(path, { set: "train" });
    assert.equal(train.format, "yolo");
    assert.equal(train.root, root);
    assert.deepEqual(train.classes, ["cat", "dog"]);
    assert.deepEqual(train.samples.map((s) => s.id), ["a", "b"]);
    assert.deepEqual(train.samples[0].objects[0].bboxPx.map((v) => +v.toFixed(6)), [
      40,
      15,
      60,
      35,
    ]);
    assert.equal(train.samples[0].objects[0].classIndex, 1);
    assert.deepEqual(train.samples[1].objects[0].bboxPx, [0, 0, 40, 40]);
    for (const set of ["val", "valid"]) {
      const val = await loadDataset(path, { set });
      assert.deepEqual(val.samples.map((s) => [s.id, s.objects[0].bboxPx]), [["c", [0, 0, 5, 20]]]);
    }
    // Without a set: every image, each with its own split's labels.
    const all = await loadDataset(path);
    assert.deepEqual(all.samples.map((s) => [s.id, s.objects.length]), [
      ["train/images/a", 1],
      ["train/images/b", 1],
      ["valid/images/c", 1],
    ]);
    await assert.rejects(loadDataset(path, { set: "test" }), (err: Error) => {
      assert.ok(err instanceof FileError);
      assert.equal(err.file, `${root}/data.yaml`);
      assert.match(
        err.reason,
        /no split "test": expected a "test:" entry, images\/test\/ or test\/images\//,
      );
      return true;
    });
  }
  assert.equal(await findSet(root, ["trainval", "train"]), "train");
  assert.equal(await findSet(`${root}/data.yaml`, ["val", "test"]), "val");
  assert.equal(await findSet(root, ["test"]), undefined);
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadDataset() reads YOLO splits given as image lists, paths relative to the list; a missing split names the yaml", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/data/images/x`, { recursive: true });
  await Deno.mkdir(`${root}/data/labels/x`, { recursive: true });
  for (const n of ["p", "q", "r"]) {
    await writeImage(`${root}/data/images/x/${n}.png`, blank(20, 10));
    await Deno.writeTextFile(`${root}/data/labels/x/${n}.txt`, "0 0.5 0.5 0.5 0.5\n");
  }
  await Deno.writeTextFile(`${root}/data/train.txt`, "./images/x/p.png\nimages/x/r.png\n\n");
  await Deno.writeTextFile(
    `${root}/cfg.yaml`,
    "path: data  # the root, relative to this file\ntrain: train.txt\nval: [images/x/q.png]\n" +
      "test: images/missing\nnames:\n  - box\n",
  );
  const train = await loadDataset(`${root}/cfg.yaml`, { set: "train" });
  assert.equal(train.root, `${root}/data`);
  assert.deepEqual(train.samples.map((s) => [s.id, s.width, s.objects[0].bboxPx]), [
    ["images/x/p", 20, [5, 2.5, 15, 7.5]],
    ["images/x/r", 20, [5, 2.5, 15, 7.5]],
  ]);
  const val = await loadDataset(`${root}/cfg.yaml`, { set: "val" });
  assert.deepEqual(val.samples.map((s) => s.imagePath), [`${root}/data/images/x/q.png`]);
  assert.equal(await findSet(`${root}/cfg.yaml`, ["test"]), "test");
  await assert.rejects(loadDataset(`${root}/cfg.yaml`, { set: "test" }), {
    message: `${root}/cfg.yaml: split "test": images/missing not found under ${root}/data`,
  });
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadDataset() picks a COCO folder's split: COCO's own layout and a Roboflow export", async () => {
  const root = await Deno.makeTempDir();
  const instances = (file: string, w: number) =>
    JSON.stringify({
      images: [{ id: 1, file_name: file, width: w, height: 10 }],
      annotations: [{ id: 1, image_id: 1, category_id: 3, bbox: [1, 2, 3, 4], area: 12 }],
      categories: [{ id: 3, name: "cat" }],
    });
  // COCO: annotations/instances_<split>2017.json, images in <split>2017/.
  await Deno.mkdir(`${root}/coco/annotations`, { recursive: true });
  for (const [split, w] of [["train2017", 20], ["val2017", 30]] as const) {
    await Deno.mkdir(`${root}/coco/${split}`);
    await writeImage(`${root}/coco/${split}/a.png`, blank(w, 10));
    await Deno.writeTextFile(
      `${root}/coco/annotations/instances_${split}.json`,
      instances("a.png", w),
    );
  }
  // Roboflow: <split>/_annotations.coco.json beside the images, "valid" for val.
  for (const [split, w] of [["train", 40], ["valid", 50]] as const) {
    await Deno.mkdir(`${root}/rf/${split}`, { recursive: true });
    await writeImage(`${root}/rf/${split}/b.png`, blank(w, 10));
    await Deno.writeTextFile(`${root}/rf/${split}/_annotations.coco.json`, instances("b.png", w));
  }
  for (const [dir, train, val] of [["coco", 20, 30], ["rf", 40, 50]] as const) {
    const path = `${root}/${dir}`;
    assert.equal(await findSet(path, ["trainval", "train"]), "train");
    assert.equal(await findSet(path, ["val", "test"]), "val");
    assert.equal(await findSet(path, ["test"]), undefined);
    for (const [set, width] of [["train", train], ["val", val]] as const) {
      const ds = await loadDataset(path, { set });
      assert.equal(ds.format, "coco");
      assert.deepEqual(ds.classes, ["cat"]);
      assert.deepEqual([ds.samples[0].width, ds.samples[0].objects[0].bboxPx], [width, [
        1,
        2,
        4,
        6,
      ]]);
    }
    await assert.rejects(loadDataset(path), /several COCO files .*; name one, or give --set$/);
    await assert.rejects(loadDataset(path, { set: "test" }), /no COCO file of split "test"/);
  }
  // A folder of one split reads its file without a set.
  assert.equal((await loadDataset(`${root}/rf/valid`)).samples[0].width, 50);
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadDataset() reads a YOLO dataset into given classes by name, not by index", async () => {
  const root = await roboflowExport(); // names [cat, dog]
  // A training set's classes in another order: the dog of label index 1 becomes index 0.
  const val = await loadDataset(root, { set: "train", classes: ["dog", "cat"] });
  assert.deepEqual(val.classes, ["dog", "cat"]);
  assert.deepEqual(val.samples.map((s) => s.objects.map((o) => val.classes[o.classIndex])), [
    ["dog"],
    ["cat"],
  ]);
  // A class the given list lacks is an error naming the label file.
  await assert.rejects(loadDataset(root, { set: "train", classes: ["cat"] }), {
    message: `${root}/train/labels/a.txt: class "dog" is not one of cat`,
  });
  // Without names of its own (one split's folder), the given names name the label indices.
  const bare = await loadDataset(`${root}/train`, { classes: ["x", "y"] });
  assert.deepEqual(bare.samples.map((s) => s.objects[0].classIndex), [1, 0]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("readDataset() rejects a folder that is no dataset, naming the formats it expects", async () => {
  const root = await Deno.makeTempDir();
  await assert.rejects(readDataset(root), (err: Error) => {
    assert.ok(err instanceof FileError);
    assert.match(
      err.reason,
      /not a dataset: expected a VOC root \(Annotations\/\), a COCO instances JSON, or a YOLO folder/,
    );
    return true;
  });
  await Deno.writeTextFile(`${root}/x.txt`, "");
  await assert.rejects(readDataset(`${root}/x.txt`), /not a dataset/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadDataset() finds the annotations.json of a folder `ssd data synth` wrote", async () => {
  const { writeSynthDataset } = await import("../lib/data/synth.ts");
  const dir = await Deno.makeTempDir();
  await writeSynthDataset({ out: dir, n: 3, seed: 2, format: "coco", size: 64 });
  const ds = await loadDataset(dir);
  assert.equal(ds.format, "coco");
  assert.equal(ds.root, `${dir}/annotations.json`);
  assert.equal(ds.samples.length, 3);
  await Deno.remove(dir, { recursive: true });
});
