/**
 * A corpus of broken datasets, one mistake each, built in temporary folders from the raccoon
 * fixture and from images encoded here; `checkDataset()` must name each problem and its file,
 * and keep checking the other images.
 */
import assert from "node:assert/strict";
import { checkDataset, type CheckReport } from "../lib/data/check.ts";
import { writeImage } from "../lib/data/image.ts";

const RACCOON = new URL("../fixtures/datasets/raccoon_voc", import.meta.url).pathname;
const IDS = ["raccoon-131", "raccoon-150", "raccoon-151", "raccoon-159", "raccoon-39"];

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** A copy of the raccoon fixture with `edit` applied to one annotation's text. */
async function brokenVoc(edit?: (xml: string) => string, id = "raccoon-150"): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "ssd_check_" });
  await copyDir(RACCOON, root);
  if (edit) {
    const file = `${root}/Annotations/${id}.xml`;
    await Deno.writeTextFile(file, edit(await Deno.readTextFile(file)));
  }
  return root;
}

const setBox = (b: string) => (xml: string) =>
  xml.replace(/<bndbox>[\s\S]*?<\/bndbox>/, `<bndbox>${b}</bndbox>`);
const box = (x1: number | string, y1: number | string, x2: number | string, y2: number | string) =>
  setBox(`<xmin>${x1}</xmin><ymin>${y1}</ymin><xmax>${x2}</xmax><ymax>${y2}</ymax>`);

function lines(report: CheckReport, root: string): string[] {
  return report.problems.map((p) => `${p.file.replace(root, "")}: ${p.severity}: ${p.message}`);
}

function assertHas(report: CheckReport, root: string, pattern: RegExp): void {
  const all = lines(report, root);
  assert.ok(all.some((l) => pattern.test(l)), `no line matches ${pattern}:\n${all.join("\n")}`);
}

async function withDataset(root: string, fn: (root: string) => Promise<void>) {
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("checkDataset() passes the clean raccoon subset", async () => {
  const report = await checkDataset(RACCOON);
  assert.deepEqual(report.problems, []);
  assert.deepEqual([report.images, report.objects, report.errors, report.warnings], [5, 5, 0, 0]);
  assert.ok(report.notes.includes("classes inferred from the annotations: raccoon"));
});

const VOC_CASES: [string, (xml: string) => string, RegExp][] = [
  [
    "swapped coordinates",
    box(187, 62, 80, 169),
    /^\/Annotations\/raccoon-150.xml: error: object 1 \(raccoon\): swapped coordinates \[186, 61, 80, 169\]/,
  ],
  [
    "float coordinates",
    box(80.5, 62, 187, 169.25),
    /^\/Annotations\/raccoon-150.xml: warning: object 1 \(raccoon\): float coordinates \[80.5, 62, 187, 169.25\]/,
  ],
  [
    "normalized coordinates",
    box(0.1, 0.2, 0.5, 0.9),
    /^\/Annotations\/raccoon-150.xml: error: object 1 \(raccoon\): coordinates \[0.1, 0.2, 0.5, 0.9\] look normalized/,
  ],
  [
    "zero-area box",
    box(80, 62, 79, 169),
    /^\/Annotations\/raccoon-150.xml: error: object 1 \(raccoon\): zero-area box \[79, 61, 79, 169\]/,
  ],
  [
    "box entirely outside",
    box(300, 10, 350, 50),
    /^\/Annotations\/raccoon-150.xml: error: object 1 \(raccoon\): box \[299, 9, 350, 50\] entirely outside the 275×183 image/,
  ],
  [
    "box partly outside",
    box(200, 100, 300, 190),
    /^\/Annotations\/raccoon-150.xml: warning: object 1 \(raccoon\): box \[199, 99, 300, 190\] extends outside the 275×183 image/,
  ],
  [
    "empty image",
    (xml) => xml.replace(/<object>[\s\S]*<\/object>/, ""),
    /^\/Annotations\/raccoon-150.xml: warning: no objects/,
  ],
  [
    "wrong size in the annotation",
    (xml) => xml.replace("<width>275</width>", "<width>550</width>"),
    /^\/JPEGImages\/raccoon-150.jpg: error: size 275×183 differs from the annotation's 550×183/,
  ],
  [
    "malformed XML",
    (xml) => xml.replace("</annotation>", ""),
    /^\/Annotations\/raccoon-150.xml: error: not valid XML/,
  ],
];

for (const [name, edit, pattern] of VOC_CASES) {
  Deno.test(`checkDataset() names the file and the problem: VOC ${name}`, async () => {
    await withDataset(await brokenVoc(edit), async (root) => {
      const report = await checkDataset(root);
      assertHas(report, root, pattern);
      // Only raccoon-150 is broken: the four other images raise nothing.
      for (const p of report.problems) assert.match(p.file, /raccoon-150/);
    });
  });
}

Deno.test("checkDataset() reports unknown classes against the given class list", async () => {
  await withDataset(
    await brokenVoc((x) => x.replace("<name>raccoon</name>", "<name>racoon</name>")),
    async (root) => {
      const report = await checkDataset(root, { classes: ["raccoon"] });
      assertHas(
        report,
        root,
        /^\/Annotations\/raccoon-150.xml: error: object 1 \(racoon\): unknown class "racoon"/,
      );
      assert.equal(report.errors, 1);
    },
  );
});

Deno.test("checkDataset() reports duplicate ids in a VOC image set", async () => {
  await withDataset(await brokenVoc(), async (root) => {
    await Deno.writeTextFile(`${root}/ImageSets/Main/train.txt`, [...IDS, "raccoon-39"].join("\n"));
    const report = await checkDataset(root);
    assertHas(report, root, /^\/ImageSets\/Main\/train.txt: error: duplicate id "raccoon-39"/);
    assert.equal(report.images, 5);
  });
});

Deno.test("checkDataset() reports missing, truncated, non-image and unreadable image files and checks the rest", async () => {
  await withDataset(await brokenVoc(), async (root) => {
    const dir = `${root}/JPEGImages`;
    await Deno.remove(`${dir}/raccoon-131.jpg`);
    const jpg = await Deno.readFile(`${dir}/raccoon-150.jpg`);
    await Deno.writeFile(`${dir}/raccoon-150.jpg`, jpg.subarray(0, jpg.length >> 1));
    // raccoon-151 becomes a text file named .png; raccoon-159's image is a folder.
    await Deno.remove(`${dir}/raccoon-151.jpg`);
    await Deno.writeTextFile(`${dir}/raccoon-151.png`, "not an image\n");
    const ann = `${root}/Annotations/raccoon-151.xml`;
    await Deno.writeTextFile(
      ann,
      (await Deno.readTextFile(ann)).replace("raccoon-151.jpg", "raccoon-151.png"),
    );
    await Deno.remove(`${dir}/raccoon-159.jpg`);
    await Deno.mkdir(`${dir}/raccoon-159.jpg`);
    const report = await checkDataset(root);
    const got = lines(report, root);
    assert.deepEqual(got, [
      "/JPEGImages/raccoon-131.jpg: error: missing image file",
      "/JPEGImages/raccoon-150.jpg: error: truncated JPEG (the file ends before the image data does)",
      "/JPEGImages/raccoon-151.png: error: not a JPEG or PNG image",
      "/JPEGImages/raccoon-159.jpg: error: is a directory, not a file",
    ]);
    assert.equal(report.images, 5); // raccoon-39 was still read and is fine
    assert.equal(report.errors, 4);
    for (const p of report.problems) assert.ok(!p.message.includes("\n"));
  });
});

Deno.test("checkDataset() on COCO: duplicate ids, unknown category and image, negative size, float boxes are fine", async () => {
  const root = await Deno.makeTempDir({ prefix: "ssd_check_" });
  await withDataset(root, async () => {
    await Deno.mkdir(`${root}/images`);
    await writeImage(`${root}/images/a.png`, { width: 40, height: 30, data: new Uint8Array(3600) });
    const json = `${root}/instances.json`;
    await Deno.writeTextFile(
      json,
      JSON.stringify({
        images: [{ id: 1, file_name: "a.png", width: 40, height: 30 }, {
          id: 1,
          file_name: "b.png",
          width: 4,
          height: 4,
        }],
        annotations: [
          { id: 5, image_id: 1, category_id: 1, bbox: [1.5, 2.25, 10, 5] },
          { id: 5, image_id: 1, category_id: 1, bbox: [20, 10, -8, 5] },
          { id: 6, image_id: 1, category_id: 4, bbox: [1, 1, 2, 2] },
          { id: 7, image_id: 3, category_id: 1, bbox: [1, 1, 2, 2] },
        ],
        categories: [{ id: 1, name: "cat" }],
      }),
    );
    const report = await checkDataset(json);
    const got = lines(report, root);
    assert.deepEqual(got, [
      "/instances.json: error: duplicate image id 1 (b.png)",
      "/instances.json: error: duplicate annotation id 5",
      "/instances.json: error: annotation 5 (image 1): negative width or height [20, 10, -8, 5] (COCO boxes are [x, y, w, h], not corners)",
      "/instances.json: error: annotation 6: unknown category id 4",
      "/instances.json: error: annotation 7: unknown image id 3",
    ]);
  });
});

Deno.test("checkDataset() on YOLO: bad lines, unknown class, pixels instead of normalized, orphan label, duplicate stem, unlistable folder", async () => {
  const root = await Deno.makeTempDir({ prefix: "ssd_check_" });
  await withDataset(root, async () => {
    await Deno.mkdir(`${root}/images`);
    await Deno.mkdir(`${root}/labels`);
    await Deno.writeTextFile(`${root}/classes.txt`, "cat\ndog\n");
    const img = { width: 20, height: 10, data: new Uint8Array(600) };
    for (const n of ["a.png", "b.png", "c.png", "c.jpg"]) {
      await writeImage(`${root}/images/${n}`, img);
    }
    await Deno.writeTextFile(
      `${root}/labels/a.txt`,
      "0 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2\n1 12 5 4 4\n0.5 0.5 0.5 0.2 0.2\n1 0.5 0.5\n",
    );
    await Deno.writeTextFile(`${root}/labels/c.txt`, "1 0.5 0.5 0.5 0.5\n");
    await Deno.writeTextFile(`${root}/labels/orphan.txt`, "0 0.5 0.5 0.2 0.2\n");
    await Deno.symlink(`${root}/images/loop`, `${root}/images/loop`);
    const report = await checkDataset(root);
    const got = lines(report, root);
    for (
      const want of [
        "/labels/a.txt: error: line 2: unknown class 2 (2 names)",
        "/labels/a.txt: error: line 3: coordinates [12, 5, 4, 4] outside [0, 1] (YOLO wants normalized cx cy w h, not pixels)",
        "/labels/a.txt: error: line 4: class must be an integer index, got 0.5",
        '/labels/a.txt: error: line 5: expected "class cx cy w h", got "1 0.5 0.5"',
        '/images/c.png: error: duplicate id "c": also ' + `${root}/images/c.jpg`,
        "/images/b.png: warning: no label file " +
        `${root}/labels/b.txt (read as an image without objects)`,
        "/labels/orphan.txt: error: label file without an image",
      ]
    ) assert.ok(got.includes(want), `missing ${want}:\n${got.join("\n")}`);
    assert.ok(got.some((l) => l.startsWith("/images/loop: error: cannot read:")), got.join("\n"));
    assert.equal(report.images, 3);
    assert.equal(report.objects, 2); // a's first line and c's line
  });
});

Deno.test("checkDataset() is an error when no image has objects", async () => {
  await withDataset(await brokenVoc(), async (root) => {
    for (const id of IDS) {
      const f = `${root}/Annotations/${id}.xml`;
      await Deno.writeTextFile(
        f,
        (await Deno.readTextFile(f)).replace(/<object>[\s\S]*<\/object>/, ""),
      );
    }
    const report = await checkDataset(root, { classes: ["raccoon"] });
    assertHas(report, root, /^: error: no objects in the whole dataset/);
  });
});
