import assert from "node:assert/strict";
import { ssd } from "./cli.ts";

const RACCOON = new URL("../fixtures/datasets/raccoon_voc", import.meta.url).pathname;

Deno.test("ssd data check passes a clean VOC dataset with a summary and exit 0", async () => {
  const r = await ssd("data", "check", RACCOON);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    `${RACCOON}: voc, 5 images, 5 objects, 1 classes: 0 errors, 0 warnings\n`,
  );
  assert.match(r.stderr, /note: classes inferred from the annotations: raccoon/);
});

Deno.test("ssd data check prints <file>: <problem> lines, one error line, exit 1; --json is machine-readable", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const d of ["images", "labels"]) await Deno.mkdir(`${root}/${d}`);
    await Deno.writeTextFile(`${root}/classes.txt`, "cat\n");
    await Deno.copyFile(`${RACCOON}/JPEGImages/raccoon-39.jpg`, `${root}/images/good.jpg`);
    await Deno.writeTextFile(`${root}/images/bad.png`, "text\n");
    await Deno.writeTextFile(`${root}/labels/good.txt`, "0 0.5 0.5 0.5 0.5\n");
    await Deno.writeTextFile(`${root}/labels/bad.txt`, "0 0.5 0.5 0 0.5\n");
    const r = await ssd("data", "check", root);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      `${root}/labels/bad.txt: line 1: zero-area box [0.5, 0.5, 0, 0.5]`,
      `${root}/images/bad.png: not a JPEG or PNG image`,
      `${root}: yolo, 2 images, 1 objects, 1 classes: 2 errors, 0 warnings`,
    ]);
    assert.equal(r.stderr, `error: ${root}: 2 errors found by ssd data check\n`);
    const j = await ssd("data", "check", root, "--json");
    assert.equal(j.code, 1);
    const report = JSON.parse(j.stdout);
    assert.equal(report.errors, 2);
    assert.deepEqual(report.problems[1], {
      file: `${root}/images/bad.png`,
      severity: "error",
      message: "not a JPEG or PNG image",
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ssd data check on a missing path: one-line error, exit 1", async () => {
  const r = await ssd("data", "check", "/no/such/dataset");
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "error: /no/such/dataset: no such file\n");
});

Deno.test("ssd data stats --json counts classes, instances and box sizes", async () => {
  const r = await ssd("data", "stats", RACCOON, "--json");
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.images, 5);
  assert.equal(s.objects, 5);
  assert.deepEqual(s.classes, [{ name: "raccoon", instances: 5, images: 5, difficult: 0 }]);
  assert.equal(s.relativeSize.counts.reduce((a: number, b: number) => a + b, 0), 5);
  // Areas: 259·194 = 50246, 275·183 = 50325, 225·225 = 50625, 226·223 = 50398, 250·172 = 43000.
  assert.deepEqual(s.imageSize, { min: [250, 172], max: [225, 225] });
});

/** Width and height of a PNG file, from its IHDR chunk. */
async function pngSize(path: string): Promise<[number, number]> {
  const view = new DataView((await Deno.readFile(path)).buffer);
  return [view.getUint32(16), view.getUint32(20)];
}

Deno.test("ssd data show draws the ground truth at the model's input size, and a mosaic", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await ssd("data", "show", RACCOON, "--out", out, "--n", "2");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      `${out}/raccoon-131.png`,
      `${out}/raccoon-150.png`,
      `${out}/mosaic.png`,
    ]);
    assert.match(r.stderr, /wrote 2 images at 300×300 \(ssd300's input\) and a mosaic/);
    // Resized to SSD300's 300×300 whatever the photo's size (raccoon-131 is 259×194).
    assert.deepEqual(await pngSize(`${out}/raccoon-131.png`), [300, 300]);
    // The mosaic: 2 tiles in 2 columns, 8 px gaps, a 20 px caption strip under each.
    assert.deepEqual(await pngSize(`${out}/mosaic.png`), [8 + 2 * 308, 8 + 328]);
    const a = await ssd(
      "data",
      "show",
      RACCOON,
      "--out",
      out,
      "--n",
      "2",
      "--augment",
      "--seed",
      "3",
      "--model",
      "tiny",
    );
    assert.equal(a.code, 0, a.stderr);
    const lines = a.stdout.trim().split("\n");
    assert.equal(lines.filter((l) => /raccoon-\d+_aug3\.png$/.test(l)).length, 2);
    assert.equal(lines.at(-1), `${out}/mosaic_aug3.png`);
    // tiny's 160×160 input, enlarged 2× pixel for pixel so the labels read.
    const first = lines[0];
    assert.deepEqual(await pngSize(first), [320, 320]);
    // The first run's files are still there, untouched by the second.
    assert.ok((await Deno.stat(`${out}/mosaic.png`)).isFile);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("ssd data synth writes a dataset that ssd data check passes", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await ssd("data", "synth", "--out", out, "--n", "4", "--seed", "2", "--size", "96");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 images, \d+ objects \(voc\)/);
    const c = await ssd("data", "check", out);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /voc, 4 images, \d+ objects, \d classes: 0 errors/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("ssd data rejects bad flag values at parse time with exit 2", async () => {
  const r = await ssd("data", "show", RACCOON, "--out", "/tmp/x", "--n", "0");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /expected a positive integer, got "0"/);
  // --size below what synth can draw: a usage error before anything is written.
  const dir = await Deno.makeTempDir();
  const small = await ssd("data", "synth", "--out", `${dir}/s`, "--size", "16");
  assert.equal(small.code, 2);
  assert.match(small.stderr, /^error: .*size must be an integer in \[32, 4096\], got 16\n$/);
  assert.deepEqual([...Deno.readDirSync(dir)], []);
});

Deno.test("ssd data --classes naming a missing file is one error line, not a class called so", async () => {
  const r = await ssd("data", "check", RACCOON, "--classes", "/no/such/names.txt");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    "error: /no/such/names.txt: no such class-names file (give names as a,b,c or an existing file)\n",
  );
});
