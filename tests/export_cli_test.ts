import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { oneLineError, ssd } from "./cli.ts";
import { loadModel } from "../lib/model/load.ts";
import { stateDictDifference } from "../lib/export/safetensors.ts";
import { loadOnnxEngine } from "../lib/engine/onnx_engine.ts";
import { readTorchStateDict } from "../lib/io/torch.ts";
import { loadTfjsGraphModel } from "../lib/export/tfjs_graph_load.ts";

await tf.setBackend("cpu");

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("ssd export --format safetensors writes a file that loads back as the same model", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "face.safetensors");
  const r = await ssd(
    "export",
    "--model",
    "face-slim-320",
    "--format",
    "safetensors",
    "--out",
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout.trim(),
    /face\.safetensors: face-slim-320, \d+ tensors, \d+ bytes; loads back bit for bit$/,
  );
  assert.deepEqual(names(dir), ["face.safetensors"]);
  const [a, b] = [await loadModel(out), await loadModel("face-slim-320")];
  try {
    assert.equal(a.config.name, "face-slim-320");
    assert.equal(stateDictDifference(b.stateDict(), a.stateDict()), undefined);
  } finally {
    a.dispose();
    b.dispose();
  }
});

Deno.test({
  name: "ssd export --format onnx --json: face-slim-320 checked in onnxruntime within 1e-4",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const out = join(dir, "face.onnx");
    const r = await ssd("export", "-m", "face-slim-320", "-f", "onnx", "-o", out, "--json");
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.format, "onnx");
    assert.equal(result.path, out);
    for (const [k, d] of Object.entries(result.check.maxAbsDiff as Record<string, number>)) {
      assert.ok(d <= 1e-4, `${k}: ${d}`);
    }
    assert.deepEqual(names(dir), ["face.onnx"]);
    const engine = await loadOnnxEngine(out);
    assert.equal(engine.config.name, "face-slim-320");
    await engine.dispose();
  },
});

Deno.test("ssd export: usage errors exit 2 with one line and write nothing", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string[], RegExp][] = [
    [
      ["--format", "pdf", "--out", join(dir, "x.pdf")],
      /argument 'pdf' is invalid\. Allowed choices are onnx, safetensors, tfjs, torch/,
    ],
    [["--out", join(dir, "x.onnx")], /required option '-f, --format <format>' not specified/],
    [
      ["--format", "onnx", "--out", join(dir, "x.bin")],
      /--out .*x\.bin: onnx exports are files ending in \.onnx/,
    ],
    [
      ["--format", "torch", "--out", join(dir, "x.pt.zip")],
      /--out .*x\.pt\.zip: torch exports are files ending in \.pth/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = await ssd("export", "--model", "face-slim-320", ...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    oneLineError(r.stderr, pattern);
  }
  // a preset without shipped weights, an unknown model
  const lite = await ssd(
    "export",
    "--model",
    "ssdlite320",
    "-f",
    "onnx",
    "-o",
    join(dir, "s.onnx"),
  );
  assert.equal(lite.code, 2);
  oneLineError(lite.stderr, /^error: model "ssdlite320" has no shipped weights/);
  const unknown = await ssd(
    "export",
    "-m",
    "yolo9000",
    "-f",
    "safetensors",
    "-o",
    join(dir, "y.safetensors"),
  );
  assert.equal(unknown.code, 2);
  oneLineError(unknown.stderr, /^error: unknown model "yolo9000"/);
  assert.deepEqual(names(dir), []);
});

Deno.test("ssd export: an unwritable --out fails with exit 1, one line, nothing half-written", async () => {
  const dir = await Deno.makeTempDir();
  const missing = join(dir, "no", "x.safetensors");
  const r = await ssd("export", "-m", "face-slim-320", "-f", "safetensors", "-o", missing);
  assert.equal(r.code, 1);
  oneLineError(r.stderr, /^error: .*no\/x\.safetensors: cannot write: its folder does not exist$/);
  const folder = join(dir, "d.onnx");
  await Deno.mkdir(folder);
  const f = await ssd("export", "-m", "face-slim-320", "-f", "onnx", "-o", folder);
  assert.equal(f.code, 1);
  oneLineError(f.stderr, /^error: .*d\.onnx: cannot write: it is a folder$/);
  if (Deno.uid() !== 0) {
    const locked = join(dir, "locked");
    await Deno.mkdir(locked, { mode: 0o555 });
    const p = await ssd(
      "export",
      "-m",
      "face-slim-320",
      "-f",
      "safetensors",
      "-o",
      join(locked, "a.safetensors"),
    );
    assert.equal(p.code, 1);
    oneLineError(p.stderr, /a\.safetensors: cannot write: permission denied$/);
  }
  assert.deepEqual(names(dir), ["d.onnx", ...(Deno.uid() !== 0 ? ["locked"] : [])].sort());
  assert.deepEqual(names(folder), []);
});

Deno.test("ssd export --format torch and tfjs: a .pth that reads back, a graph model that runs", async () => {
  const dir = await Deno.makeTempDir();
  const pth = join(dir, "face.pth");
  const r = await ssd("export", "-m", "face-slim-320", "-f", "torch", "-o", pth);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /face\.pth: face-slim-320 state dict, \d+ tensors, \d+ bytes/);
  const model = await loadModel("face-slim-320");
  try {
    assert.equal(stateDictDifference(model.stateDict(), await readTorchStateDict(pth)), undefined);
    // the config beside it brings the names back: raccoon is face-slim-320's architecture
    const raccoonPth = join(dir, "raccoon.pth");
    const rc = await ssd("export", "-m", "raccoon", "-f", "torch", "-o", raccoonPth);
    assert.equal(rc.code, 0, rc.stderr);
    const back = await loadModel(raccoonPth);
    assert.deepEqual(back.config.classes, ["raccoon"]);
    back.dispose();
    await Deno.remove(join(dir, "raccoon.ssd.json"));
    const bare = await loadModel(raccoonPth); // without it: inferred from the keys
    assert.equal(bare.config.name, "face-slim-320");
    bare.dispose();
    await Deno.remove(raccoonPth);
    const web = join(dir, "web");
    const t = await ssd("export", "-m", "face-slim-320", "-f", "tfjs", "-o", web, "--json");
    assert.equal(t.code, 0, t.stderr);
    const result = JSON.parse(t.stdout);
    assert.ok(result.check.maxAbsDiff.loc <= 1e-4 && result.check.maxAbsDiff.logits <= 1e-4);
    assert.ok(names(web).includes("model.json"));
    const graphModel = await loadTfjsGraphModel(web);
    const images = tf.zeros([1, 240, 320, 3]);
    const [loc, logits] = graphModel.execute(images, ["loc", "logits"]) as tf.Tensor[];
    assert.deepEqual(loc.shape, [1, 4420, 4]);
    assert.deepEqual(logits.shape, [1, 4420, 2]);
    tf.dispose([images, loc, logits]);
    graphModel.dispose();
    // a second export into the same folder is refused and leaves it as it was
    const before = names(web);
    const again = await ssd("export", "-m", "face-slim-320", "-f", "tfjs", "-o", web);
    assert.equal(again.code, 1);
    oneLineError(again.stderr, /web: cannot write: the folder is not empty$/);
    assert.deepEqual(names(web), before);
    assert.deepEqual(names(dir), ["face.pth", "face.ssd.json", "web"]);
  } finally {
    model.dispose();
  }
});
