import assert from "node:assert/strict";
import { ssd } from "./cli.ts";
import { join } from "node:path";

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
  const r = await ssd(
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
  // Every face found once, nothing else above 0.7: AP 1 under every metric at IoU 0.5.
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
  const r = await ssd(
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
  assert.deepEqual(Object.keys(out), ["coco"]); // a COCO dataset defaults to the COCO metric
  assert.ok(Math.abs(out.coco.AP50 - 1) < 1e-9, r.stdout);
  assert.deepEqual(Object.keys(out.coco.perClass), ["face"]);
});

Deno.test("ssd eval --model --data: flags that do not go together exit 2", async () => {
  const alone = await ssd("eval", "--model", "face-slim-320");
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--model and --data go together/);
  const mixed = await ssd("eval", "--model", "face-slim-320", "--data", ".", "--gt", "x.json");
  assert.equal(mixed.code, 2);
});
