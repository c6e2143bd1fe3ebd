/** `ssd eval` end to end: table, --json contract, --plots, and one-line errors on bad input. */
import assert from "node:assert/strict";
import { oneLineError, ssd } from "./cli.ts";

const CASES = new URL("../fixtures/eval/cases/", import.meta.url).pathname;
const DEMO = new URL("../fixtures/eval/coco_val2014_100/", import.meta.url).pathname;

Deno.test("ssd eval prints the official demo's summary lines in pycocotools' layout", async () => {
  const r = await ssd(
    "eval",
    "--gt",
    `${DEMO}instances_val2014_100.json`,
    "--results",
    `${DEMO}instances_val2014_fakebbox100_results.json`,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    r.stdout.includes(
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505",
    ),
  );
  assert.ok(
    r.stdout.includes(
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.564",
    ),
  );
  assert.match(r.stdout, /^class\s+images\s+instances\s+AP50-95\s+AP50\s+AP75$/m);
  assert.match(r.stdout, /^toothbrush\s+\d+\s+\d+\s+0\.\d{3}/m);
});

Deno.test("ssd eval --json --metric all gives the contract's keys and the reference numbers", async () => {
  const dir = `${CASES}p07_empty_missing_border`;
  const r = await ssd(
    "eval",
    "--gt",
    `${dir}/gt.json`,
    "--results",
    `${dir}/dt.json`,
    "--metric",
    "all",
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(json), ["coco", "voc07", "voc"]);
  const expCoco = JSON.parse(await Deno.readTextFile(`${dir}/expected_coco.json`));
  const names = [
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
  ];
  names.forEach((n, i) => assert.ok(Math.abs(json.coco[n] - expCoco.stats[i]) <= 1e-6, n));
  assert.equal(json.coco.perClass.horse, -1);
  const expVoc = JSON.parse(await Deno.readTextFile(`${dir}/expected_voc.json`));
  assert.ok(Math.abs(json.voc07.mAP - expVoc.mAP_07) <= 1e-6);
  assert.ok(Math.abs(json.voc.mAP - expVoc.mAP) <= 1e-6);
  assert.equal(json.voc.perClass.bench, null); // npos = 0: undefined, out of the mean
  assert.equal(json.voc.perClass.stop_sign, 0); // GT but no detections
});

Deno.test("ssd eval on a VOC root and detection folder matches voc_eval", async () => {
  const dir = `${CASES}p01_basic`;
  const r = await ssd("eval", "--gt", dir, "--results", `${dir}/dets`, "--json");
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  const exp = JSON.parse(await Deno.readTextFile(`${dir}/expected_voc.json`));
  assert.deepEqual(Object.keys(json), ["voc07", "voc"]);
  assert.ok(Math.abs(json.voc07.mAP - exp.mAP_07) <= 1e-6);
  assert.ok(Math.abs(json.voc.mAP - exp.mAP) <= 1e-6);
});

Deno.test("ssd eval --plots writes PNG precision/recall curves", async () => {
  const out = await Deno.makeTempDir();
  try {
    const dir = `${CASES}p03_crowd_difficult`;
    const r = await ssd(
      "eval",
      "--gt",
      `${dir}/gt.json`,
      "--results",
      `${dir}/dt.json`,
      "--metric",
      "all",
      "--plots",
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assert.ok(
      files.includes("coco_overall.png") && files.includes("voc_overall.png"),
      files.join(),
    );
    assert.ok(files.includes("coco_cow.png") && files.includes("voc_cow.png"));
    assert.ok(!files.includes("coco_bus.png"), "no curve for a class without ground truth");
    const png = await Deno.readFile(`${out}/coco_overall.png`);
    assert.deepEqual([...png.slice(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("ssd eval --model --data on a missing dataset is one line naming it, exit 1", async () => {
  const r = await ssd("eval", "--model", "face-slim-320", "--data", "no/such/dataset");
  assert.equal(r.code, 1);
  oneLineError(r.stderr, /^error: no\/such\/dataset: /);
});

Deno.test("ssd eval reports bad input as one line naming the file, exit 1", async () => {
  const tmp = await Deno.makeTempDir();
  const gt = `${CASES}p01_basic/gt.json`;
  const write = async (name: string, text: string) => {
    await Deno.writeTextFile(`${tmp}/${name}`, text);
    return `${tmp}/${name}`;
  };
  try {
    const missing = `${tmp}/nope.json`;
    let r = await ssd("eval", "--gt", gt, "--results", missing);
    assert.equal(r.code, 1);
    oneLineError(r.stderr, new RegExp(`^error: ${missing}: `));

    const malformed = await write("bad.json", "[{");
    r = await ssd("eval", "--gt", gt, "--results", malformed);
    assert.equal(r.code, 1);
    oneLineError(r.stderr, /bad\.json: not valid JSON/);

    const unknownImage = await write(
      "img.json",
      '[{"image_id":999999,"category_id":2,"bbox":[1,1,5,5],"score":0.5}]',
    );
    r = await ssd("eval", "--gt", gt, "--results", unknownImage);
    assert.equal(r.code, 1);
    oneLineError(r.stderr, /img\.json: \[0\]: image_id 999999 is not an image of the ground truth/);

    const unknownCat = await write(
      "cat.json",
      '[{"image_id":1557,"category_id":3,"bbox":[1,1,5,5],"score":0.5}]',
    );
    r = await ssd("eval", "--gt", gt, "--results", unknownCat);
    assert.equal(r.code, 1);
    oneLineError(r.stderr, /cat\.json: \[0\]: category_id 3 is not a category/);

    const negative = await write(
      "neg.json",
      '[{"image_id":1557,"category_id":2,"bbox":[1,1,-5,5],"score":0.5}]',
    );
    r = await ssd("eval", "--gt", gt, "--results", negative);
    assert.equal(r.code, 1);
    oneLineError(r.stderr, /neg\.json: \[0\]: negative width or height/);

    // An empty results list is valid: AP 0 where there is ground truth.
    const empty = await write("empty.json", "[]");
    r = await ssd("eval", "--gt", gt, "--results", empty, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).coco.AP, 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("ssd eval --plots onto a file fails up front in one line; -q keeps stderr empty", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/taken`, "");
  const gt = `${CASES}p01_basic/gt.json`, dt = `${CASES}p01_basic/dt.json`;
  const bad = await ssd("eval", "--gt", gt, "--results", dt, "--plots", `${dir}/taken`);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  oneLineError(
    bad.stderr,
    /^error: .*\/taken: cannot create the output folder: a file of that name is in the way$/,
  );
  const quiet = await ssd("eval", "--gt", gt, "--results", dt, "--json", "-q");
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, "");
  assert.ok(JSON.parse(quiet.stdout).coco.AP > 0);
});
