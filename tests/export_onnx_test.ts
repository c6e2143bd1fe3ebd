import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/engine/tfjs.ts";
import { getConfig, numClasses } from "../lib/config.ts";
import { FileError } from "../lib/errors.ts";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
import { loadModel } from "../lib/model/load.ts";
import { generatePriors, priorsHash } from "../lib/priors.ts";
import type onnxProto from "onnx-proto";
import { onnx } from "../lib/export/onnx_builder.ts";
import { maxAbsDiff, type OnnxCheck, serializeOnnx, writeOnnx } from "../lib/export/onnx.ts";
import { loadOnnxEngine } from "../lib/engine/onnx_engine.ts";
import { readImage } from "../lib/data/image.ts";
import { resizeBilinearCv2 } from "../lib/data/resize.ts";
import { normalizeRgb } from "../lib/data/normalize.ts";
import { selectDetections } from "../lib/nms.ts";
import { decodeBoxesArray } from "../lib/boxes.ts";
import { encodePng } from "../lib/data/image_codec.ts";
import { tfjsEngine } from "../lib/engine/tfjs_engine.ts";
import { softmaxRows } from "../lib/engine/detect.ts";
import { randomizeWeights } from "./random_weights.ts";

await initBackend("wasm");

const samples = new URL("../samples/", import.meta.url).pathname;

/** Exports `model` to a fresh temp dir; returns the file and the check. */
async function exportTo(model: SsdModel, opts: Parameters<typeof writeOnnx>[2] = {}) {
  const dir = await Deno.makeTempDir();
  const path = join(dir, `${model.config.name}.onnx`);
  const result = await writeOnnx(model, path, opts);
  return { dir, path, ...result };
}

/** Every output within `tol` times its magnitude (max(1, max |reference|)). */
function assertWithin(check: OnnxCheck, tol: number, what: string) {
  for (const [k, d] of Object.entries(check.maxAbsDiff) as [keyof OnnxCheck["scale"], number][]) {
    const scale = check.scale[k];
    assert.ok(d <= tol * scale, `${what}: max |Δ| ${k} ${d} > ${tol} × ${scale}`);
  }
  console.log(
    `${what}: max |Δ| ${JSON.stringify(check.maxAbsDiff)}, scale ${JSON.stringify(check.scale)}`,
  );
}

Deno.test("serializeOnnx() writes opset 17, NCHW images, four outputs, state-dict initializers and the metadata", () => {
  const cfg = getConfig("tiny");
  const model = buildModel(cfg, { seed: 1 });
  try {
    const sd = model.stateDict();
    const bytes = serializeOnnx(model.graph, sd, cfg);
    const m = onnx.ModelProto.decode(bytes);
    const g = m.graph!;
    assert.equal(Number(m.irVersion), 8);
    assert.deepEqual(m.opsetImport.map((o) => [o.domain, Number(o.version)]), [["", 17]]);
    const dims = (v: onnxProto.onnx.IValueInfoProto) =>
      v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    assert.deepEqual(g.input!.map((i) => [i.name, dims(i)]), [
      ["images", ["batch", 3, 160, 160]],
    ]);
    const p = generatePriors(cfg).length / 4, c = numClasses(cfg);
    assert.deepEqual(g.output!.map((o) => [o.name, dims(o)]), [
      ["loc", ["batch", p, 4]],
      ["logits", ["batch", p, c]],
      ["boxes", ["batch", p, 4]],
      ["scores", ["batch", p, c]],
    ]);
    // conv weights keep their PyTorch names and OIHW shapes
    const w = g.initializer!.find((t) => t.name === "backbone.layers.0.conv.weight")!;
    assert.deepEqual(w.dims!.map(Number), [16, 3, 3, 3]);
    const raw = w.rawData!;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    assert.deepEqual(values, sd.get("backbone.layers.0.conv.weight")!.data);
    const meta = Object.fromEntries(m.metadataProps.map((e) => [e.key, e.value]));
    assert.equal(meta.model, "tiny");
    assert.equal(meta.arch, "tiny");
    assert.deepEqual(JSON.parse(meta.classes), ["background", ...cfg.classes]);
    assert.equal(meta.prior_hash, priorsHash(generatePriors(cfg)));
    assert.equal(meta.channel_order, "RGB");
    assert.deepEqual(JSON.parse(meta.preprocess).mean, [127.5, 127.5, 127.5]);
    assert.deepEqual(JSON.parse(meta.config), cfg);
  } finally {
    model.dispose();
  }
});

Deno.test("serializeOnnx() refuses a state dict that lacks or misshapes a tensor", () => {
  const cfg = getConfig("tiny");
  const model = buildModel(cfg, { seed: 1 });
  try {
    const sd = model.stateDict();
    sd.delete("backbone.layers.3.bn.running_var");
    assert.throws(
      () => serializeOnnx(model.graph, sd, cfg),
      /the state dict has no "backbone\.layers\.3\.bn\.running_var"/,
    );
    const sd2 = model.stateDict();
    const w = sd2.get("head.regression_head.module_list.0.weight")!;
    sd2.set("head.regression_head.module_list.0.weight", { ...w, shape: [8, 128, 3, 3] });
    assert.throws(() => serializeOnnx(model.graph, sd2, cfg), /must have shape \[16,64,3,3\]/);
  } finally {
    model.dispose();
  }
});

Deno.test("writeOnnx(): tiny with seeded weights runs in onnxruntime within 1e-4 of tfjs (batch 2)", async () => {
  const model = buildModel(getConfig("tiny"), { seed: 7 });
  try {
    randomizeWeights(model, 7);
    const before = tf.memory().numTensors;
    const { dir, path, check } = await exportTo(model);
    assert.equal(tf.memory().numTensors, before, "tensors left behind");
    assert.equal(check.batch, 2);
    assertWithin(check, 1e-4, "tiny");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["tiny.onnx"]);
    await Deno.remove(path);
  } finally {
    model.dispose();
  }
});

Deno.test("writeOnnx() leaves nothing at the path (and an old file intact) when onnxruntime disagrees", async () => {
  const cfg = getConfig("tiny");
  const model = buildModel(cfg, { seed: 7 });
  const dir = await Deno.makeTempDir();
  const path = join(dir, "bad.onnx");
  await Deno.writeTextFile(path, "old");
  try {
    // a graph that is not the model's: one BatchNorm with another eps
    const graph = structuredClone(model.graph);
    const bn = graph.nodes.find((n) => n.op === "batchNorm")!;
    if (bn.op === "batchNorm") bn.eps = 10;
    await assert.rejects(
      writeOnnx(model, path, { graph }),
      (err: Error) =>
        err instanceof FileError &&
        /disagrees with the tfjs model: max \|Δ\| loc/.test(err.message),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["bad.onnx"]);
    assert.equal(await Deno.readTextFile(path), "old");
  } finally {
    model.dispose();
  }
});

Deno.test("writeOnnx() reports a missing folder as a FileError naming the path", async () => {
  const model = buildModel(getConfig("tiny"), { seed: 7 });
  try {
    await assert.rejects(
      writeOnnx(model, "/nonexistent-dir/x.onnx"),
      /\/nonexistent-dir\/x\.onnx: cannot write: its folder does not exist/,
    );
  } finally {
    model.dispose();
  }
});

Deno.test({
  name:
    "writeOnnx(): face-slim-320 (shipped weights) within 1e-4 of tfjs, NMS picks = selectDetections",
  fn: async () => {
    const model = await loadModel("face-slim-320");
    try {
      const { path, check } = await exportTo(model, { nms: true });
      assertWithin(check, 1e-4, "face-slim-320");
      const cfg = model.config;
      const [h, w] = cfg.imageSize;
      const image = resizeBilinearCv2(await readImage(join(samples, "faces.jpg")), w, h);
      const engine = await loadOnnxEngine(path);
      try {
        const out = await engine.run(normalizeRgb(image, cfg.preprocess), 1, [
          "boxes",
          "scores",
          "selected",
        ]);
        const d = selectDetections(
          out.boxes.data as Float32Array,
          out.scores.data as Float32Array,
          { ...cfg.postprocess },
        );
        const sel = out.selected.data as BigInt64Array;
        const picked = [];
        for (let i = 0; i < sel.length; i += 3) {
          picked.push([Number(sel[i + 1]), Number(sel[i + 2])]);
        }
        const ours = [...d.priorIndices].map((p, i) => [d.labels[i], p]);
        const key = (a: number[]) => a.join(":");
        assert.ok(ours.length >= 5, `faces found: ${ours.length}`);
        assert.deepEqual(picked.map(key).sort(), ours.map(key).sort());
      } finally {
        await engine.dispose();
      }
    } finally {
      model.dispose();
    }
  },
});

Deno.test({
  name: "writeOnnx(): ssdlite320 (seeded weights) within 1e-4 × output magnitude of tfjs",
  fn: async () => {
    const model = buildModel(getConfig("ssdlite320"), { seed: 3 });
    try {
      randomizeWeights(model, 3);
      const { check } = await exportTo(model, { checkBatch: 1 });
      assertWithin(check, 1e-4, "ssdlite320");
    } finally {
      model.dispose();
    }
  },
});

Deno.test({
  name: "writeOnnx(): ssd300 (seeded weights) within 1e-4 × output magnitude of tfjs (batch 1)",
  fn: async () => {
    const model = buildModel(getConfig("ssd300"), { seed: 3 });
    try {
      randomizeWeights(model, 3);
      const { check } = await exportTo(model, { checkBatch: 1 });
      assertWithin(check, 1e-4, "ssd300");
    } finally {
      model.dispose();
    }
  },
});

Deno.test("maxAbsDiff() finds the largest gap and reports NaN", () => {
  assert.equal(maxAbsDiff([1, 2, 3], [1, 2.5, 2]), 1);
  assert.ok(Number.isNaN(maxAbsDiff([1, NaN], [1, 2])));
  assert.throws(() => maxAbsDiff([1], [1, 2]), TypeError);
  assert.equal(tf.memory().numTensors >= 0, true);
});

/** Why the OpenCV check cannot run here, or undefined when /usr/bin/python3 imports cv2. */
async function whyNoCv2(): Promise<string | undefined> {
  try {
    const r = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import cv2, numpy"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (r.success) return undefined;
    return `python3 cannot import cv2 (${
      new TextDecoder().decode(r.stderr).trim().split("\n").at(-1)
    }); ` +
      "apt-get install -y python3-opencv";
  } catch {
    return "no /usr/bin/python3";
  }
}

const noCv2 = await whyNoCv2();
if (noCv2) console.log(`skipping the OpenCV check: ${noCv2}`);

Deno.test({
  name:
    "fixtures/export/check_onnx_cv2.py: OpenCV's cv2.dnn runs face-slim-320's ONNX to 1e-4 of tfjs",
  ignore: noCv2 !== undefined,
  fn: async () => {
    const model = await loadModel("face-slim-320");
    try {
      const { dir, path } = await exportTo(model);
      const cfg = model.config;
      const [h, w] = cfg.imageSize;
      // a lossless picture, so OpenCV and we start from the same pixels
      const image = resizeBilinearCv2(await readImage(join(samples, "faces.jpg")), w, h);
      const png = join(dir, "faces.png");
      await Deno.writeFile(png, await encodePng(image));
      const out = await tfjsEngine(model, { owned: false }).predict(
        normalizeRgb(image, cfg.preprocess),
        1,
      );
      const boxes = decodeBoxesArray(out.locPred, generatePriors(cfg), {
        variances: cfg.variances,
        clampLog: Infinity,
      });
      const scores = softmaxRows(out.clsLogits, out.numClasses);
      const ref = join(dir, "reference.json");
      await Deno.writeTextFile(
        ref,
        JSON.stringify({
          image: png,
          size: cfg.imageSize,
          mean: cfg.preprocess.mean,
          std: cfg.preprocess.std,
          scores: [...scores],
          boxes: [...boxes],
          tolerance: 1e-4,
        }),
      );
      const script = new URL("../fixtures/export/check_onnx_cv2.py", import.meta.url).pathname;
      const r = await new Deno.Command("/usr/bin/python3", { args: [script, path, ref] }).output();
      const stdout = new TextDecoder().decode(r.stdout);
      console.log(stdout.trim());
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr) + stdout);
      assert.equal(JSON.parse(stdout).ok, true);
    } finally {
      model.dispose();
    }
  },
});
