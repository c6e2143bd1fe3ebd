import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { FileError, UsageError } from "../lib/errors.ts";
import type { StateDict } from "../lib/io/state_dict.ts";
import { inferConfig, loadModel, resolveConfig } from "../lib/model/load.ts";
import { useBackend } from "./model_helpers.ts";

const fixture = (p: string) =>
  decodeURIComponent(new URL(`../fixtures/${p}`, import.meta.url).pathname);

/** A state dict with torchvision's names and shapes (no values) from the committed listing. */
async function torchvisionKeys(model: string): Promise<StateDict> {
  const json = JSON.parse(await Deno.readTextFile(fixture("models/torchvision_state_dicts.json")));
  const entries = json[model].state_dict as [string, number[], string][];
  return new Map(
    entries.map((
      [k, shape],
    ) => [k, { dtype: "float32" as const, shape, data: new Float32Array(0) }]),
  );
}

Deno.test("inferConfig() recognises torchvision SSD300-VGG16 (91 classes) and SSDLite320", async () => {
  assert.equal(inferConfig(await torchvisionKeys("ssd300_vgg16"), "a.pth").name, "ssd300-coco");
  assert.equal(inferConfig(await torchvisionKeys("ssdlite320"), "b.pth").name, "ssdlite320");
});

Deno.test("inferConfig() sizes the class list from the head (SSD300 with 21 → VOC config)", async () => {
  const sd = await torchvisionKeys("ssd300_vgg16");
  for (const [k, t] of sd) {
    if (k.startsWith("head.classification_head")) t.shape[0] = (t.shape[0] / 91) * 21;
  }
  const cfg = inferConfig(sd, "voc.pth");
  assert.equal(cfg.name, "ssd300");
  assert.equal(cfg.classes.length, 20);
});

Deno.test("inferConfig() refuses unknown keys with a FileError naming --arch", () => {
  const sd: StateDict = new Map([["fc.weight", {
    dtype: "float32",
    shape: [2, 2],
    data: new Float32Array(4),
  }]]);
  assert.throws(() => inferConfig(sd, "x.pth"), (err: unknown) => {
    assert.ok(err instanceof FileError);
    assert.match(err.message, /^x\.pth: cannot tell the architecture .*--arch/);
    return true;
  });
});

Deno.test("loadModel() of UltraFace's original .pth infers slim and equals the shipped weights", async () => {
  await useBackend("wasm");
  const fromPth = await loadModel(fixture("io/version-slim-320.pth"));
  const shipped = await loadModel("face-slim-320");
  const x = tf.randomUniform([1, 240, 320, 3], -1, 1, "float32", 4) as tf.Tensor4D;
  try {
    assert.equal(fromPth.config.name, "face-slim-320");
    const a = fromPth.predict(x);
    const b = shipped.predict(x);
    assert.deepEqual(await a.clsLogits.data(), await b.clsLogits.data());
    tf.dispose([a.locPred, a.clsLogits, b.locPred, b.clsLogits]);
  } finally {
    x.dispose();
    fromPth.dispose();
    shipped.dispose();
  }
});

Deno.test("loadModel() refuses a .pth whose pickle would run code", async () => {
  await assert.rejects(loadModel(fixture("io/evil_system.pth")), FileError);
});

Deno.test("loadModel() gives a one-line FileError for a truncated .safetensors", async () => {
  const bytes = await Deno.readFile(fixture("../weights/face-slim-320.safetensors"));
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await Deno.writeFile(path, bytes.subarray(0, 5000));
    await assert.rejects(loadModel(path), (err: unknown) => {
      assert.ok(err instanceof FileError);
      assert.ok(!err.message.includes("\n"), err.message);
      return true;
    });
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("loadModel() names the known models for an unknown one, and asks for weights", async () => {
  await assert.rejects(loadModel("resnet"), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /unknown model "resnet".*ssd300.*face-slim-320/);
    return true;
  });
  await assert.rejects(loadModel("ssd512"), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(
      err.message,
      /no shipped weights .*ssd train --model ssd512.*\.safetensors or \.pth/,
    );
    return true;
  });
  await assert.rejects(loadModel("ssdlite320"), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.ok(
      err.message.includes(
        'torch.save(ssdlite320_mobilenet_v3_large(weights="DEFAULT").state_dict(), "ssdlite320.pth")',
      ),
      err.message,
    );
    return true;
  });
});

Deno.test("loadModel() refuses weights holding NaN or infinity, naming the file and tensor", async () => {
  const { checkFiniteWeights } = await import("../lib/model/load.ts");
  const sd = new Map([
    ["a.weight", {
      dtype: "float32" as const,
      shape: [3],
      data: Float32Array.of(1, NaN, Infinity),
    }],
    ["b.weight", { dtype: "float16" as const, shape: [1], data: Uint16Array.of(0x7c00) }],
  ]);
  assert.throws(() => checkFiniteWeights(sd, "w.safetensors"), {
    message: /^w\.safetensors: tensor "a\.weight" holds 2 of 3 NaN or infinite values/,
  });
  sd.delete("a.weight");
  assert.throws(() => checkFiniteWeights(sd, "w.safetensors"), /"b\.weight" holds only NaN/);
  sd.set("b.weight", { dtype: "float16", shape: [1], data: Uint16Array.of(0x3c00) }); // 1.0
  checkFiniteWeights(sd, "w.safetensors");
});

Deno.test("loadModel() with --arch of another architecture reports the mismatched keys", async () => {
  await useBackend("cpu");
  const file = fixture("../weights/face-slim-320.safetensors");
  await assert.rejects(loadModel(file, { arch: "face-rfb-320" }), (err: unknown) => {
    assert.ok(err instanceof FileError);
    assert.match(
      err.message,
      /face-slim-320\.safetensors: Cannot load state dict into face-rfb-320/,
    );
    return true;
  });
  // On a preset name --arch has nothing to say: a usage error, not a silent switch.
  await assert.rejects(loadModel("face-slim-320", { arch: "face-rfb-320" }), UsageError);
  await assert.rejects(loadModel(file, { arch: "bogus" }), /--arch: unknown config "bogus"/);
});

Deno.test("loadModel() refuses weights whose prior hash differs from the config's priors", async () => {
  const file = fixture("../weights/face-slim-320.safetensors");
  // The shipped file carries its config and prior hash: it resolves to itself...
  assert.equal((await resolveConfig(file)).name, "face-slim-320");
  // ...and refuses a config with other priors, naming both hashes and the file.
  await assert.rejects(
    () => resolveConfig(file, { arch: "ssd300" }),
    (err: Error) =>
      err instanceof FileError && /made for priors 407c0ea70dfa17ef/.test(err.message) &&
      /8732 priors/.test(err.message),
  );
});
