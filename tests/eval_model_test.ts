import assert from "node:assert/strict";
import { ssd, ssdIn } from "./cli.ts";
import { join } from "node:path";
import { getConfig } from "../lib/config.ts";
import { loadDetector } from "../lib/detector.ts";
import { readImage } from "../lib/data/image.ts";
import { writeSafetensors } from "../lib/io/safetensors.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { useBackend } from "./model_helpers.ts";

const root = new URL("..", import.meta.url).pathname;
const refs = join(root, "fixtures/ultraface");

/** The PyTorch reference's faces (score > 0.7) of two sample photos, as rounded pixel boxes. */
async function referenceFaces() {
  const faces: { file: string; stem: string; w: number; h: number; boxes: number[][] }[] = [];
  for (const [id, file] of [["9", "faces.jpg"], ["13", "pair.jpg"]]) {
    const ref = JSON.parse(await Deno.readTextFile(join(refs, id, "slim320_detections.json")));
    faces.push({
      file,
      stem: file.replace(".jpg", ""),
      w: ref.width,
      h: ref.height,
      boxes: ref.thresholds["0.7"].detections.map((d: { box: number[] }) => d.box.map(Math.round)),
    });
  }
  return faces;
}

Deno.test("ssd eval --model --data on a VOC dataset whose ground truth is the reference's faces", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "Annotations"));
  await Deno.mkdir(join(dir, "JPEGImages"));
  await Deno.mkdir(join(dir, "ImageSets/Main"), { recursive: true });
  const faces = await referenceFaces();
  for (const f of faces) {
    await Deno.copyFile(join(root, "samples", f.file), join(dir, "JPEGImages", f.file));
    const objects = f.boxes.map(([x1, y1, x2, y2]) =>
      `<object><name>face</name><difficult>0</difficult><bndbox><xmin>${x1 + 1}</xmin>` +
      `<ymin>${y1 + 1}</ymin><xmax>${x2}</xmax><ymax>${y2}</ymax></bndbox></object>`
    ).join("");
    await Deno.writeTextFile(
      join(dir, "Annotations", `${f.stem}.xml`),
      `<annotation><filename>${f.file}</filename><size><width>${f.w}</width><height>${f.h}` +
        `</height><depth>3</depth></size>${objects}</annotation>`,
    );
  }
  await Deno.writeTextFile(join(dir, "ImageSets/Main/test.txt"), "faces\npair\n");
  const r = await ssdIn(
    dir, // the run folder goes to dir/runs/eval/eval
    "eval",
    "--model",
    "face-slim-320",
    "--data",
    dir,
    "--metric",
    "all",
    "--json",
    "-q",
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  // Every face found, before any false positive: AP 1 under every metric at IoU 0.5.
  assert.ok(Math.abs(out.voc07.mAP - 1) < 1e-9, r.stdout);
  assert.ok(Math.abs(out.voc.mAP - 1) < 1e-9, r.stdout);
  assert.ok(Math.abs(out.coco.AP50 - 1) < 1e-9, r.stdout);
  assert.ok(out.coco.AP > 0.8 && out.coco.AP <= 1, `AP ${out.coco.AP}`);
});

Deno.test("ssd eval --model --data on a COCO dataset keeps its ids and area fields", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "images"));
  const faces = await referenceFaces();
  const gt = {
    images: faces.map((f, i) => ({ id: 100 + i, file_name: f.file, width: f.w, height: f.h })),
    categories: [{ id: 7, name: "face" }],
    annotations: faces.flatMap((f, i) =>
      f.boxes.map(([x1, y1, x2, y2], k) => ({
        id: 1000 * (i + 1) + k,
        image_id: 100 + i,
        category_id: 7,
        bbox: [x1, y1, x2 - x1, y2 - y1],
        area: (x2 - x1) * (y2 - y1),
        iscrowd: 0,
      }))
    ),
  };
  for (const f of faces) {
    await Deno.copyFile(join(root, "samples", f.file), join(dir, "images", f.file));
  }
  await Deno.writeTextFile(join(dir, "instances_test.json"), JSON.stringify(gt));
  const r = await ssdIn(
    dir, // the run folder goes to dir/runs/eval/eval
    "eval",
    "--model",
    "face-slim-320",
    "--data",
    join(dir, "instances_test.json"),
    "--json",
    "-q",
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  // A COCO dataset defaults to the COCO metric (then P/R/F1 and the confusion matrix).
  assert.deepEqual(Object.keys(out), ["coco", "bestF1", "confusion"]);
  assert.ok(Math.abs(out.coco.AP50 - 1) < 1e-9, r.stdout);
  assert.deepEqual(Object.keys(out.coco.perClass), ["face"]);
  // The run's COCO results carry the instances file's image and category ids.
  const saved = JSON.parse(await Deno.readTextFile(join(dir, "runs/eval/eval/detections.json")));
  const ids = new Set(gt.images.map((im: { id: number }) => im.id));
  assert.ok(saved.length > 0 && saved.every((d: { image_id: number }) => ids.has(d.image_id)));
  assert.ok(saved.every((d: { category_id: number }) => d.category_id === gt.categories[0].id));
});

Deno.test("ssd eval --model --data: flags that do not go together exit 2", async () => {
  const alone = await ssd("eval", "--model", "face-slim-320");
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--model and --data go together/);
  const mixed = await ssd("eval", "--model", "face-slim-320", "--data", ".", "--gt", "x.json");
  assert.equal(mixed.code, 2);
});

Deno.test("ssd eval --model --data without --score evaluates at score > 0.01, 200 per image", async () => {
  await useBackend("wasm");
  const dir = await Deno.makeTempDir();
  try {
    // An untrained tiny model scores every class near 1/4 everywhere: hundreds of boxes
    // survive NMS above 0.01, none of those ranked past ~60 above its own threshold (0.3).
    const weights = join(dir, "tiny.safetensors");
    const model = buildModel(getConfig("tiny"), { seed: 1 });
    await writeSafetensors(weights, model.stateDict(), { model: "tiny" });
    const detector = await loadDetector(model);
    const image = await readImage(join(root, "samples/pair.jpg"));
    const all = await detector.detect(image, { scoreThreshold: 0.01, maxDetections: 10_000 });
    await detector.dispose();
    // The ground truth: one box the model ranks 150th (kept at 0.01 / 200; dropped at its own
    // 0.3 / 100) and one it ranks past 200 (dropped at 0.01 / 200), of different classes.
    const inside = all[150];
    const outside = all.slice(220).find((d) => d.label !== inside.label)!;
    assert.ok(all.length > 220 && inside.score < 0.3 && outside !== undefined, `${all.length}`);
    const classes = getConfig("tiny").classes;
    await Deno.mkdir(join(dir, "images"));
    await Deno.copyFile(join(root, "samples/pair.jpg"), join(dir, "images/pair.jpg"));
    const gt = {
      images: [{ id: 1, file_name: "pair.jpg", width: image.width, height: image.height }],
      categories: classes.map((name, k) => ({ id: k + 1, name })),
      annotations: [inside, outside].map((d, k) => ({
        id: k + 1,
        image_id: 1,
        category_id: d.label,
        bbox: [d.bbox[0], d.bbox[1], d.bbox[2] - d.bbox[0], d.bbox[3] - d.bbox[1]],
        area: (d.bbox[2] - d.bbox[0]) * (d.bbox[3] - d.bbox[1]),
        iscrowd: 0,
      })),
    };
    await Deno.writeTextFile(join(dir, "instances.json"), JSON.stringify(gt));
    const r = await ssdIn(
      dir,
      "eval",
      "--model",
      weights,
      "--data",
      join(dir, "instances.json"),
      "--metric",
      "voc",
      "--backend",
      "wasm",
      "--json",
      "-q",
    );
    assert.equal(r.code, 0, r.stderr);
    const ap = JSON.parse(r.stdout).voc.perClass;
    assert.ok(ap[inside.class] > 0, `${inside.class} (ranked 150th) missed: ${r.stdout}`);
    assert.equal(ap[outside.class], 0, `${outside.class} (ranked past 200) found: ${r.stdout}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
