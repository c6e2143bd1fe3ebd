/** `ssd eval` end to end: table, --json contract, --plots, and one-line errors on bad input. */
import assert from "node:assert/strict";
import { loadDataset } from "../lib/data/dataset.ts";
import { oneLineError, ssd, ssdIn } from "./cli.ts";
import { readVocGroundTruth } from "../lib/eval/readers.ts";
import { vocToCoco } from "../lib/eval/evaluate.ts";

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
  assert.match(r.stdout, /^class\s+images\s+instances\s+P\s+R\s+AP50-95\s+AP50\s+AP75$/m);
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
  assert.deepEqual(Object.keys(json), ["coco", "voc07", "voc", "bestF1", "confusion"]);
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
  assert.deepEqual(Object.keys(json), ["voc07", "voc", "bestF1", "confusion"]);
  assert.ok(Math.abs(json.voc07.mAP - exp.mAP_07) <= 1e-6);
  assert.ok(Math.abs(json.voc.mAP - exp.mAP) <= 1e-6);
});

Deno.test("ssd eval --plots writes the summary figures; per class only with --plots-per-class", async () => {
  const out = await Deno.makeTempDir();
  try {
    const dir = `${CASES}p03_crowd_difficult`;
    const args = ["--gt", `${dir}/gt.json`, "--results", `${dir}/dt.json`, "--metric", "all"];
    const r = await ssd("eval", ...args, "--plots", `${out}/a`);
    assert.equal(r.code, 0, r.stderr);
    const files = [...Deno.readDirSync(`${out}/a`)].map((e) => e.name).sort();
    assert.deepEqual(files, [
      "coco_overall.png",
      "confusion_matrix.png",
      "f1_curve.png",
      "p_curve.png",
      "pr_curve.png",
      "r_curve.png",
    ]);
    assert.match(r.stderr, /^wrote 6 figures to .*\/a$/m);
    const png = await Deno.readFile(`${out}/a/pr_curve.png`);
    assert.deepEqual([...png.slice(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const each = await ssd("eval", ...args, "--plots", `${out}/b`, "--plots-per-class");
    assert.equal(each.code, 0, each.stderr);
    const all = [...Deno.readDirSync(`${out}/b`)].map((e) => e.name);
    assert.ok(all.includes("coco_cow.png") && all.includes("voc_cow.png"), all.join());
    assert.ok(all.includes("voc_overall.png") && all.includes("pr_curve.png"));
    assert.ok(!all.includes("coco_bus.png"), "no curve for a class without ground truth");
    const alone = await ssd("eval", ...args, "--plots-per-class");
    assert.equal(alone.code, 2);
    oneLineError(alone.stderr, /^error: --plots-per-class needs --plots <dir>/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("ssd eval leaves classes without ground truth out of the table and says how many", async () => {
  // p07: bench has detections but no ground truth, horse has neither.
  const dir = `${CASES}p07_empty_missing_border`;
  const r = await ssd("eval", "--gt", `${dir}/gt.json`, "--results", `${dir}/dt.json`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^class\s+images\s+instances\s+P\s+R\s+AP50-95\s+AP50\s+AP75$/m);
  assert.doesNotMatch(r.stdout, /^(bench|horse)\s/m);
  assert.match(r.stdout, /^fire_hydrant\s+7\s+10\s/m);
  assert.match(r.stdout, /^\(2 classes without ground truth not shown: AP undefined/m);
  // stop_sign has ground truth and no detection at all: P 0 and R 0 (not P 1).
  assert.match(r.stdout, /^stop_sign\s+5\s+7\s+0\.000\s+0\.000\s/m);
  assert.match(r.stdout, /^P and R at confidence \d\.\d{3}, where the mean F1 is best/m);
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

/** Every file under `dir` with its bytes (one level). */
function files(dir: string): Map<string, Uint8Array> {
  return new Map(
    [...Deno.readDirSync(dir)].map((e) => [e.name, Deno.readFileSync(`${dir}/${e.name}`)]),
  );
}

Deno.test("ssd eval --model writes runs/eval/eval, eval2, …: detections that evaluate to the same numbers", async () => {
  const data = new URL("../fixtures/datasets/raccoon_voc", import.meta.url).pathname;
  const cwd = await Deno.makeTempDir();
  try {
    const args = ["eval", "--model", "raccoon", "--data", data, "--metric", "all", "--json"];
    const first = await ssdIn(cwd, ...args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stderr,
      /^wrote the detections to runs\/eval\/eval \(detections\.json, 1 comp4/m,
    );
    assert.match(first.stderr, /^wrote 6 figures to runs\/eval\/eval$/m);
    const run = files(`${cwd}/runs/eval/eval`);
    assert.deepEqual([...run.keys()].sort(), [
      "coco_overall.png",
      "comp4_det_train_raccoon.txt",
      "confusion_matrix.png",
      "detections.json",
      "f1_curve.png",
      "p_curve.png",
      "pr_curve.png",
      "r_curve.png",
    ]);
    const json = JSON.parse(first.stdout);
    // The devkit's line format, 1-based pixels, read back by `ssd eval --results <folder>`.
    const line = new TextDecoder().decode(run.get("comp4_det_train_raccoon.txt")).split("\n")[0];
    assert.match(line, /^raccoon-\d+ [\d.e-]+ -?[\d.]+ -?[\d.]+ -?[\d.]+ -?[\d.]+$/);
    const voc = await ssdIn(
      cwd,
      "eval",
      "--gt",
      data,
      "--results",
      "runs/eval/eval",
      "--metric",
      "all",
      "--json",
    );
    assert.equal(voc.code, 0, voc.stderr);
    assert.deepEqual(JSON.parse(voc.stdout), json, "the VOC files give the run's numbers");
    // detections.json against the same ground truth in COCO form (ids as vocToCoco numbers them).
    const gt = await readVocGroundTruth(data, "train");
    const coco = vocToCoco(gt.images, {}, ["raccoon"]).gt;
    await Deno.writeTextFile(`${cwd}/gt.json`, JSON.stringify(coco));
    const fromJson = await ssdIn(
      cwd,
      "eval",
      "--gt",
      "gt.json",
      "--results",
      "runs/eval/eval/detections.json",
      "--json",
    );
    assert.equal(fromJson.code, 0, fromJson.stderr);
    assert.deepEqual(JSON.parse(fromJson.stdout).coco, json.coco, "the COCO JSON too");
    // A second run goes to eval2 and leaves eval as it was; --no-plots writes no figure.
    const second = await ssdIn(cwd, ...args, "--no-plots", "-q");
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, "");
    assert.deepEqual(files(`${cwd}/runs/eval/eval`), run);
    assert.deepEqual([...files(`${cwd}/runs/eval/eval2`).keys()].sort(), [
      "comp4_det_train_raccoon.txt",
      "detections.json",
    ]);
    const named = await ssdIn(cwd, ...args, "--project", "p", "--name", "x", "-q", "--no-plots");
    assert.equal(named.code, 0, named.stderr);
    assert.ok(Deno.statSync(`${cwd}/p/eval/x/detections.json`).isFile);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("ssd eval --model on a YOLO export evaluates its val split; --gt on it reads the run's files back", async () => {
  const voc = await loadDataset(
    new URL("../fixtures/datasets/raccoon_voc", import.meta.url).pathname,
  );
  const cwd = await Deno.makeTempDir();
  try {
    // A Roboflow-style export of the five fixture photos: three to train, two to validate.
    for (const [k, s] of voc.samples.entries()) {
      const split = k < 3 ? "train" : "valid";
      await Deno.mkdir(`${cwd}/ds/${split}/images`, { recursive: true });
      await Deno.mkdir(`${cwd}/ds/${split}/labels`, { recursive: true });
      await Deno.copyFile(s.imagePath, `${cwd}/ds/${split}/images/${s.id}.jpg`);
      const lines = s.objects.map(({ bboxPx: [x1, y1, x2, y2] }) =>
        `0 ${(x1 + x2) / 2 / s.width} ${(y1 + y2) / 2 / s.height} ${(x2 - x1) / s.width} ${
          (y2 - y1) / s.height
        }\n`
      );
      await Deno.writeTextFile(`${cwd}/ds/${split}/labels/${s.id}.txt`, lines.join(""));
    }
    await Deno.writeTextFile(
      `${cwd}/ds/data.yaml`,
      "train: ../train/images\nval: ../valid/images\nnc: 1\nnames: ['raccoon']\n",
    );
    const run = await ssdIn(
      cwd,
      "eval",
      "--model",
      "raccoon",
      "--data",
      "ds/data.yaml",
      "--metric",
      "all",
      "--json",
      "--no-plots",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^image set "val"$/m);
    const json = JSON.parse(run.stdout);
    const detected = Deno.readTextFileSync(`${cwd}/runs/eval/eval/comp4_det_val_raccoon.txt`)
      .split("\n").filter((l) => l !== "").map((l) => l.split(" ")[0]);
    assert.deepEqual([...new Set(detected)].sort(), voc.samples.slice(3).map((s) => s.id).sort());
    const files = await ssdIn(
      cwd,
      "eval",
      "--gt",
      "ds",
      "--results",
      "runs/eval/eval",
      "--metric",
      "all",
      "--json",
    );
    assert.equal(files.code, 0, files.stderr);
    assert.deepEqual(JSON.parse(files.stdout), json, "the VOC files give the run's numbers");
    const fromJson = await ssdIn(
      cwd,
      "eval",
      "--gt",
      "ds/data.yaml",
      "--results",
      "runs/eval/eval/detections.json",
      "--json",
    );
    assert.equal(fromJson.code, 0, fromJson.stderr);
    assert.deepEqual(JSON.parse(fromJson.stdout).coco, json.coco, "the COCO JSON too");
    // Another split is another ground truth: the run's val detections name no train photo.
    const train = await ssdIn(
      cwd,
      ...["eval", "--gt", "ds", "--set", "train", "--results", "runs/eval/eval"],
    );
    assert.equal(train.code, 1);
    assert.match(
      train.stderr,
      /^error: .*comp4_det_val_raccoon\.txt: line 1: image "raccoon-\d+" is not in the image set$/m,
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("ssd eval: --project/--name belong to --model; --no-plots contradicts --plots-per-class", async () => {
  const gt = `${CASES}p01_basic/gt.json`, dt = `${CASES}p01_basic/dt.json`;
  const r = await ssd("eval", "--gt", gt, "--results", dt, "--name", "x");
  assert.equal(r.code, 2);
  oneLineError(r.stderr, /^error: --project and --name name the run folder of --model/);
  const both = await ssd(
    "eval",
    "--model",
    "raccoon",
    "--data",
    "x",
    "--no-plots",
    "--plots-per-class",
  );
  assert.equal(both.code, 2);
  oneLineError(both.stderr, /^error: --plots-per-class and --no-plots contradict each other/);
});

Deno.test("ssd eval --gt takes a COCO folder: its one instances file, or with several the val split's", async () => {
  const { writeSynthDataset } = await import("../lib/data/synth.ts");
  const dir = await Deno.makeTempDir();
  try {
    await writeSynthDataset({ out: `${dir}/one`, n: 4, seed: 3, size: 64, format: "coco" });
    const gt = JSON.parse(await Deno.readTextFile(`${dir}/one/annotations.json`));
    // Detections: every ground-truth box, shifted by a pixel, at falling scores.
    const results = gt.annotations.map((
      a: { image_id: number; category_id: number; bbox: number[] },
      k: number,
    ) => ({
      image_id: a.image_id,
      category_id: a.category_id,
      bbox: [a.bbox[0] + 1, a.bbox[1], a.bbox[2], a.bbox[3]],
      score: 1 - k / 100,
    }));
    await Deno.writeTextFile(`${dir}/results.json`, JSON.stringify(results));
    const byFile = await ssd(
      "eval",
      "--gt",
      `${dir}/one/annotations.json`,
      "--results",
      `${dir}/results.json`,
      "--json",
    );
    assert.equal(byFile.code, 0, byFile.stderr);
    const byFolder = await ssd(
      "eval",
      "--gt",
      `${dir}/one`,
      "--results",
      `${dir}/results.json`,
      "--json",
    );
    assert.equal(byFolder.code, 0, byFolder.stderr);
    assert.deepEqual(JSON.parse(byFolder.stdout), JSON.parse(byFile.stdout));
    // COCO's own layout with two splits: val by default, --set for the other.
    await Deno.mkdir(`${dir}/two/annotations`, { recursive: true });
    await Deno.copyFile(
      `${dir}/one/annotations.json`,
      `${dir}/two/annotations/instances_val2017.json`,
    );
    await Deno.writeTextFile(
      `${dir}/two/annotations/instances_train2017.json`,
      JSON.stringify({ ...gt, annotations: [] }),
    );
    const val = await ssd(
      "eval",
      "--gt",
      `${dir}/two`,
      "--results",
      `${dir}/results.json`,
      "--json",
    );
    assert.equal(val.code, 0, val.stderr);
    assert.deepEqual(JSON.parse(val.stdout), JSON.parse(byFile.stdout));
    const train = await ssd(
      "eval",
      "--gt",
      `${dir}/two`,
      "--set",
      "train",
      "--results",
      `${dir}/results.json`,
      "--json",
    );
    assert.equal(train.code, 0, train.stderr);
    assert.notDeepEqual(JSON.parse(train.stdout), JSON.parse(byFile.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
