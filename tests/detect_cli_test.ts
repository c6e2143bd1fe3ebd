import assert from "node:assert/strict";
import { oneLineError, ssd, ssdIn } from "./cli.ts";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const samples = join(root, "samples");

Deno.test("ssd detect --json prints the DESIGN.md schema in pixels", async () => {
  const r = await ssd(
    "detect",
    join(samples, "pair.jpg"),
    "--json",
    "--backend",
    "wasm",
    "--no-save",
  );
  assert.equal(r.code, 0, r.stderr);
  const results = JSON.parse(r.stdout);
  assert.equal(results.length, 1);
  const [img] = results;
  assert.equal(img.image, join(samples, "pair.jpg"));
  assert.deepEqual([img.width, img.height], [450, 344]);
  assert.equal(img.detections.length, 2);
  for (const d of img.detections) {
    assert.deepEqual(Object.keys(d).sort(), ["bbox", "class", "label", "score"]);
    assert.equal(d.class, "face");
    assert.equal(d.label, 1);
    const [x1, y1, x2, y2] = d.bbox;
    assert.ok(0 <= x1 && x1 < x2 && x2 <= 450 && 0 <= y1 && y1 < y2 && y2 <= 344, `${d.bbox}`);
  }
  // Nothing saved: no drawing or writing to time, and no folder to name.
  assert.match(
    r.stderr,
    /speed: .* ms decode, .* ms preprocess, .* ms inference, .* ms postprocess per image; /,
  );
  assert.doesNotMatch(r.stderr, /draw|wrote/);
});

Deno.test("ssd detect --out writes drawn PNGs, detections.json and COCO results", async () => {
  const dir = await Deno.makeTempDir();
  const coco = join(dir, "results.json");
  const r = await ssd(
    "detect",
    samples,
    "--out",
    join(dir, "out"),
    "--coco-results",
    coco,
    "--score",
    "0.9",
    "--quiet",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const names = [...Deno.readDirSync(join(dir, "out"))].map((e) => e.name).sort();
  assert.deepEqual(names, ["crowd.png", "detections.json", "faces.png", "pair.png"]);
  const png = await Deno.readFile(join(dir, "out", "faces.png"));
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const listed = JSON.parse(await Deno.readTextFile(join(dir, "out", "detections.json")));
  assert.equal(listed.length, 3);
  const results = JSON.parse(await Deno.readTextFile(coco));
  const total = listed.reduce(
    (n: number, r: { detections: unknown[] }) => n + r.detections.length,
    0,
  );
  assert.equal(results.length, total);
  for (const d of results) {
    assert.equal(d.category_id, 1);
    assert.ok(d.score > 0.9);
    assert.equal(d.bbox.length, 4);
    assert.ok(d.bbox[2] > 0 && d.bbox[3] > 0);
  }
});

Deno.test("ssd detect reports broken inputs in one line each and still processes the rest", async () => {
  const dir = await Deno.makeTempDir();
  const jpeg = await Deno.readFile(join(samples, "pair.jpg"));
  await Deno.writeFile(join(dir, "truncated.jpg"), jpeg.subarray(0, 2000));
  await Deno.writeTextFile(join(dir, "text.png"), "this is not a picture\n");
  const locked = join(dir, "locked");
  await Deno.mkdir(locked);
  await Deno.chmod(locked, 0o000);
  const r = await ssd(
    "detect",
    join(dir, "truncated.jpg"),
    join(dir, "text.png"),
    locked,
    join(samples, "pair.jpg"),
    "--json",
    "--no-save",
  );
  await Deno.chmod(locked, 0o755);
  assert.equal(r.code, 1);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
  const isRoot = Deno.uid() === 0; // root reads a 000 folder; it is then an empty folder instead
  assert.equal(errors.length, 3, r.stderr);
  assert.match(errors.join("\n"), /truncated\.jpg: /);
  assert.match(errors.join("\n"), /text\.png: /);
  assert.match(errors.join("\n"), isRoot ? /locked: folder holds no/ : /locked: permission denied/);
  const results = JSON.parse(r.stdout);
  assert.equal(results.length, 1);
  assert.equal(results[0].detections.length, 2);
});

Deno.test("ssd detect: usage errors exit 2", async () => {
  const bad = await ssd("detect", join(samples, "pair.jpg"), "--score", "1.5");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expected a number in \[0, 1\], got "1.5"/);
  const unknown = await ssd("detect", join(samples, "pair.jpg"), "--model", "yolo9000");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: unknown model "yolo9000"/m);
  const cat = await ssd("detect", join(samples, "pair.jpg"), "--classes", "cat");
  assert.equal(cat.code, 2);
  assert.match(cat.stderr, /^error: --classes: face-slim-320 has no class "cat"/m);
  // A pattern that matches nothing is one error line about it, and a failure (exit 1).
  const nothing = await ssd("detect", join(samples, "*.gif"));
  assert.equal(nothing.code, 1);
  oneLineError(nothing.stderr, /^error: .*\*\.gif: no image files match this pattern$/);
});

Deno.test("cocoImageIds() takes the numbers names end in, or positions when they clash", async () => {
  const { cocoImageIds } = await import("../commands/detect_run.ts");
  assert.deepEqual(cocoImageIds(["a/000000397133.jpg", "b/000000000042.png"]), {
    ids: [397133, 42],
    fromNames: true,
  });
  // x_01 and y_1 both end in 1; "a" ends in no number: every image gets its position.
  assert.deepEqual(cocoImageIds(["x_01.jpg", "y_1.jpg"]).ids, [1, 2]);
  assert.deepEqual(cocoImageIds(["a.jpg", "img7.jpg"]), { ids: [1, 2], fromNames: false });
});

Deno.test("ssd detect --out onto a file is one error line naming it, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "taken"), "a file");
  const r = await ssd("detect", join(samples, "pair.jpg"), "--out", join(dir, "taken", "sub"));
  assert.equal(r.code, 1);
  assert.match(
    r.stderr.trim(),
    new RegExp(`^error: ${dir}/taken/sub: cannot create the output folder`),
  );
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

Deno.test("ssd detect refuses outputs that would overwrite an input image (exit 2, input intact)", async () => {
  const dir = await Deno.makeTempDir();
  const png = join(dir, "a.png");
  await Deno.copyFile(join(samples, "pair.jpg"), png); // a JPEG named .png is still an image
  const before = await Deno.readFile(png);
  const drawnOver = await ssd("detect", png, "--out", dir);
  assert.equal(drawnOver.code, 2);
  assert.match(drawnOver.stderr, /a\.png: an output would overwrite an input image/);
  const cocoOver = await ssd("detect", png, "--coco-results", png);
  assert.equal(cocoOver.code, 2);
  assert.deepEqual(await Deno.readFile(png), before);
});

Deno.test("ssd detect --quiet keeps the results on stdout and silences stderr", async () => {
  const r = await ssd("detect", join(samples, "pair.jpg"), "--quiet", "--no-save");
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /pair\.jpg: 2 detections/);
});

Deno.test("ssd detect refuses outputs that clash with each other or mix with the input folder", async () => {
  const dir = await Deno.makeTempDir();
  const photos = join(dir, "photos");
  await Deno.mkdir(photos);
  await Deno.copyFile(join(samples, "pair.jpg"), join(photos, "pair.jpg"));
  const mixed = await ssd("detect", photos, "--out", photos);
  assert.equal(mixed.code, 2);
  assert.match(mixed.stderr, /the output folder holds input images/);
  const clash = await ssd(
    "detect",
    join(photos, "pair.jpg"),
    "--out",
    join(dir, "o"),
    "--coco-results",
    join(dir, "o", "detections.json"),
  );
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /two outputs of this run would be written to the same file/);
  assert.deepEqual([...Deno.readDirSync(photos)].map((e) => e.name), ["pair.jpg"]);
  // An unwritable --coco-results is reported before any detection runs.
  const early = await ssd(
    "detect",
    join(photos, "pair.jpg"),
    "--coco-results",
    join(dir, "no", "r.json"),
  );
  assert.equal(early.code, 1);
  assert.equal(early.stdout, "");
  assert.match(early.stderr, /^error: .*no\/r\.json: cannot write: its folder does not exist\n$/);
});

/** Every file under `dir` (relative paths) with its bytes. */
async function snapshot(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (sub: string) => {
    for await (const e of Deno.readDir(join(dir, sub))) {
      const rel = sub === "" ? e.name : `${sub}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else files.set(rel, await Deno.readFile(join(dir, rel)));
    }
  };
  await walk("");
  return files;
}

Deno.test("ssd detect saves to runs/detect/predict, then predict2, never over an earlier run", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const first = await ssdIn(cwd, "detect", join(samples, "pair.jpg"), "--json");
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stderr,
      /^wrote 1 drawn image and detections\.json to runs\/detect\/predict$/m,
    );
    const before = await snapshot(cwd);
    assert.deepEqual([...before.keys()].sort(), [
      "runs/detect/predict/detections.json",
      "runs/detect/predict/pair.png",
    ]);
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(before.get("runs/detect/predict/detections.json"))),
      JSON.parse(first.stdout),
    );
    const second = await ssdIn(cwd, "detect", join(samples, "faces.jpg"), "--hide-conf");
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stderr,
      /^wrote 1 drawn image and detections\.json to runs\/detect\/predict2$/m,
    );
    const after = await snapshot(cwd);
    for (const [file, bytes] of before) assert.deepEqual(after.get(file), bytes, `${file} kept`);
    assert.ok(after.has("runs/detect/predict2/faces.png"));
    assert.ok(!after.has("runs/detect/predict/faces.png"));
    // --project and --name choose the folder; the name increments the same way.
    for (const expected of ["mine/detect/try", "mine/detect/try2"]) {
      const r = await ssdIn(
        cwd,
        "detect",
        join(samples, "pair.jpg"),
        "--project",
        "mine",
        "--name",
        "try",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`to ${expected}$`, "m"));
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("ssd detect --no-save writes nothing; it does not go with --out", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const r = await ssdIn(cwd, "detect", join(samples, "pair.jpg"), "--no-save");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pair\.jpg: 2 detections/);
    assert.deepEqual([...Deno.readDirSync(cwd)], []);
    const both = await ssdIn(cwd, "detect", join(samples, "pair.jpg"), "--no-save", "--out", "o");
    assert.equal(both.code, 2);
    oneLineError(both.stderr, /^error: --no-save writes no folder/);
    const named = await ssdIn(
      cwd,
      "detect",
      join(samples, "pair.jpg"),
      "--out",
      "o",
      "--name",
      "x",
    );
    assert.equal(named.code, 2);
    oneLineError(named.stderr, /^error: --out names the folder exactly/);
    assert.deepEqual([...Deno.readDirSync(cwd)], []);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("ssd detect's speed line times drawing and writing, and its stages add up to the run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await ssd(
      "detect",
      join(samples, "crowd.jpg"),
      join(samples, "pair.jpg"),
      "--out",
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const m = r.stderr.match(
      /speed: ([\d.]+) ms decode, ([\d.]+) ms preprocess, ([\d.]+) ms inference, ([\d.]+) ms postprocess, ([\d.]+) ms draw, ([\d.]+) ms write per image; ([\d.]+) ms in all \(2 images in ([\d.]+) s, /,
    );
    assert.ok(m, r.stderr);
    const stages = m.slice(1, 7).map(Number), all = Number(m[7]), seconds = Number(m[8]);
    assert.ok(stages[4] > 0 && stages[5] > 0, "drawing and writing are timed");
    assert.ok(Math.abs(stages.reduce((a, b) => a + b, 0) - all) < 0.5, `${stages} vs ${all}`);
    // The stages cover the loop: what the line says per image is what the images took.
    const loopMs = 1000 * seconds / 2;
    assert.ok(all <= loopMs + 60 && all >= 0.8 * loopMs, `${all} ms per image, ${seconds} s for 2`);
    // A second run into the same --out says that it replaces files there.
    const again = await ssd("detect", join(samples, "pair.jpg"), "--out", dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /^note: .* already holds files; those of the same names are replaced/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ssd detect --engine onnx, --engine tfjs and an exported .onnx give the same detections", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const image = join(samples, "faces.jpg");
    const run = async (...args: string[]) => {
      const r = await ssd("detect", image, "--json", "--no-save", ...args);
      assert.equal(r.code, 0, r.stderr);
      return { dets: JSON.parse(r.stdout)[0].detections, stderr: r.stderr };
    };
    const tfjs = await run("--engine", "tfjs");
    const onnx = await run("--engine", "onnx");
    assert.match(tfjs.stderr, /face-slim-320 on (wasm|cpu|webgpu)/);
    assert.match(onnx.stderr, /face-slim-320 on onnxruntime/);
    const file = join(dir, "face.onnx");
    const exported = await ssd("export", "-m", "face-slim-320", "-f", "onnx", "-o", file);
    assert.equal(exported.code, 0, exported.stderr);
    const fromFile = await run("--model", file); // auto: a .onnx runs on onnxruntime
    assert.match(fromFile.stderr, /on onnxruntime/);
    assert.ok(tfjs.dets.length >= 5, `faces: ${tfjs.dets.length}`);
    for (const other of [onnx.dets, fromFile.dets]) {
      assert.equal(other.length, tfjs.dets.length);
      other.forEach((d: { score: number; bbox: number[]; class: string }, i: number) => {
        assert.equal(d.class, tfjs.dets[i].class);
        assert.ok(Math.abs(d.score - tfjs.dets[i].score) <= 1e-4, `score ${i}`);
        // --json rounds boxes to 0.01 px
        d.bbox.forEach((v, k) =>
          assert.ok(Math.abs(v - tfjs.dets[i].bbox[k]) <= 0.011, `bbox ${i}`)
        );
      });
    }
    const refused = await ssd("detect", image, "--no-save", "--model", file, "--engine", "tfjs");
    assert.equal(refused.code, 2);
    oneLineError(
      refused.stderr,
      /face\.onnx is an ONNX model: it runs on the onnx engine, not tfjs/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
