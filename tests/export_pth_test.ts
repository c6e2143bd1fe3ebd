import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { encodeTorchPth, writeTorchPth } from "../lib/export/torch_pth.ts";
import { crc32 } from "../lib/io/crc32.ts";
import { parseTorchStateDict, readTorchStateDict } from "../lib/io/torch.ts";
import type { StateDict } from "../lib/io/state_dict.ts";
import { getConfig } from "../lib/config.ts";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
import { loadModel } from "../lib/model/load.ts";
import { makeRng, uniform } from "../lib/data/rng.ts";
import { maxDiff, readF32, useBackend } from "./model_helpers.ts";
import { livelyWeights } from "./export_helpers.ts";

const PYTHON = "/usr/bin/python3";

/** Why the PyTorch checks cannot run here, or undefined when they can. */
async function torchMissing(): Promise<string | undefined> {
  try {
    const r = await new Deno.Command(PYTHON, {
      args: ["-c", "import torch, torchvision"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (r.success) return undefined;
    return `${PYTHON} cannot import torch/torchvision (${
      new TextDecoder().decode(r.stderr).trim().split("\n").at(-1)
    })`;
  } catch (err) {
    return `${PYTHON} cannot run (${(err as Error).message})`;
  }
}
const NO_TORCH = await torchMissing();
if (NO_TORCH) {
  console.warn(
    `skipping the torch.load checks of lib/export/torch_pth.ts: ${NO_TORCH}; ` +
      "install python3-torch and python3-torchvision",
  );
}

const MIXED: StateDict = new Map([
  ["conv.weight", {
    dtype: "float32",
    shape: [2, 1, 1, 3],
    data: Float32Array.of(1, -2, 3.5, 0, -0, 1e-30),
  }],
  ["bn.num_batches_tracked", { dtype: "int64", shape: [], data: BigInt64Array.of(91656n) }],
  ["big.int64", { dtype: "int64", shape: [2], data: BigInt64Array.of(-(2n ** 40n), 2n ** 62n) }],
  ["half", { dtype: "float16", shape: [2], data: Uint16Array.of(0x3c00, 0xc000) }],
  ["double", { dtype: "float64", shape: [1], data: Float64Array.of(Math.PI) }],
  ["int", { dtype: "int32", shape: [3], data: Int32Array.of(-1, 0, 70000) }],
  ["bytes", { dtype: "uint8", shape: [1, 2], data: Uint8Array.of(0, 255) }],
  ["flags", { dtype: "bool", shape: [2], data: Uint8Array.of(1, 0) }],
  ["empty", { dtype: "float32", shape: [0, 4], data: new Float32Array(0) }],
  ["long", { dtype: "float32", shape: [70001], data: new Float32Array(70001).fill(-1.5) }],
]);

Deno.test("encodeTorchPth() round-trips every dtype through readTorchStateDict()", () => {
  const back = parseTorchStateDict(encodeTorchPth(MIXED), "mem.pth");
  assert.deepEqual([...back.keys()], [...MIXED.keys()]);
  for (const [name, t] of MIXED) {
    const b = back.get(name)!;
    assert.equal(b.dtype, t.dtype, name);
    assert.deepEqual(b.shape, t.shape, name);
    assert.deepEqual([...b.data], [...t.data], name);
  }
});

/** Local file headers of a zip, walked from the start: name, data offset, sizes, crc. */
function localRecords(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  let pos = 0;
  while (view.getUint32(pos, true) === 0x04034b50) {
    const method = view.getUint16(pos + 8, true);
    const crc = view.getUint32(pos + 14, true);
    const size = view.getUint32(pos + 18, true);
    const nameLen = view.getUint16(pos + 26, true);
    const extraLen = view.getUint16(pos + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(pos + 30, pos + 30 + nameLen));
    const dataAt = pos + 30 + nameLen + extraLen;
    out.push({ name, method, crc, size, dataAt });
    pos = dataAt + size;
  }
  return out;
}

Deno.test("encodeTorchPth() writes torch's layout: stored records, data 64-byte aligned", () => {
  const bytes = encodeTorchPth(MIXED);
  const records = localRecords(bytes);
  assert.deepEqual(records.map((r) => r.name), [
    "archive/data.pkl",
    "archive/byteorder",
    ...[...MIXED.keys()].map((_, i) => `archive/data/${i}`),
    "archive/version",
  ]);
  for (const r of records) {
    assert.equal(r.method, 0, r.name);
    assert.equal(r.dataAt % 64, 0, `${r.name} data at ${r.dataAt}`);
    assert.equal(crc32(bytes.subarray(r.dataAt, r.dataAt + r.size)), r.crc, r.name);
  }
  const text = (name: string) => {
    const r = records.find((x) => x.name === name)!;
    return new TextDecoder().decode(bytes.subarray(r.dataAt, r.dataAt + r.size));
  };
  assert.equal(text("archive/byteorder"), "little");
  assert.equal(text("archive/version"), "3\n");
  // float32 storage 0 is the raw little-endian bytes of conv.weight
  const w = records.find((r) => r.name === "archive/data/0")!;
  assert.deepEqual(
    [...new Float32Array(bytes.slice(w.dataAt, w.dataAt + w.size).buffer)],
    [1, -2, 3.5, 0, -0, 1e-30].map(Math.fround),
  );
});

Deno.test("crc32() matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("encodeTorchPth() refuses data that does not fit the shape", () => {
  const bad: StateDict = new Map([
    ["w", { dtype: "float32", shape: [2, 2], data: new Float32Array(3) }],
  ]);
  assert.throws(
    () => encodeTorchPth(bad),
    /Cannot write "w" to \.pth: shape \[2,2\] of float32 needs 16 bytes, the data has 12/,
  );
  assert.throws(() => encodeTorchPth(new Map(), { archiveName: "a/b" }), RangeError);
});

Deno.test("writeTorchPth() writes a file readTorchStateDict() reads back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeTorchPth(MIXED, `${dir}/m.pth`);
    const back = await readTorchStateDict(`${dir}/m.pth`);
    assert.deepEqual([...back.get("long")!.data].slice(0, 2), [-1.5, -1.5]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.pth"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** sha256 (hex) of the bytes of every tensor of `sd`, in order. */
async function sha256(sd: StateDict): Promise<string> {
  const parts = [...sd.values()].map((t) =>
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
  );
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// PyTorch's side: torch.load + load_state_dict(strict=True) into torchvision's / UltraFace's /
// tiny's PyTorch definitions (fixtures/export/check_pth.py), then both forwards on one fixed
// input. The weights must arrive bit for bit (sha256 of every tensor's bytes); the forwards
// agree to max |ours − torch| ≤ 1e-4 · max(1, max |ours|) (float32 sums in another order
// through up to ~60 layers with O(10) outputs).
const CASES: { model: string; arch: string; make: () => Promise<SsdModel> }[] = [
  {
    model: "tiny",
    arch: "tiny",
    make: () => Promise.resolve(buildModel(getConfig("tiny"), { seed: 1 })),
  },
  {
    model: "ssdlite320",
    arch: "ssdlite320",
    make: () => Promise.resolve(buildModel(getConfig("ssdlite320"), { seed: 1 })),
  },
  {
    model: "ssd300",
    arch: "ssd300_vgg16",
    make: () => Promise.resolve(buildModel(getConfig("ssd300"), { seed: 1 })),
  },
  { model: "face-slim-320", arch: "ultraface_slim", make: () => loadModel("face-slim-320") },
  {
    model: "face-rfb-320",
    arch: "ultraface_rfb",
    make: () => Promise.resolve(buildModel(getConfig("face-rfb-320"), { seed: 1 })),
  },
];

Deno.test({
  name:
    "writeTorchPth() files load strictly into torchvision / UltraFace / tiny and predict as ours",
  ignore: NO_TORCH !== undefined,
}, async () => {
  await useBackend("wasm");
  const dir = await Deno.makeTempDir();
  try {
    const jobs = [];
    const ours = new Map<string, { loc: Float32Array; logits: Float32Array; sd: StateDict }>();
    for (const c of CASES) {
      const model = await c.make();
      try {
        const [h, w] = model.config.imageSize;
        const rng = makeRng(7);
        const input = Float32Array.from({ length: h * w * 3 }, () => uniform(rng, -1, 1));
        await Deno.writeFile(`${dir}/${c.model}_input.bin`, new Uint8Array(input.buffer));
        if (c.model !== "face-slim-320") model.loadStateDict(livelyWeights(model.stateDict(), 11));
        const sd = model.stateDict();
        await writeTorchPth(sd, `${dir}/${c.model}.pth`);
        const x = tf.tensor4d(input, [1, h, w, 3]);
        const { locPred, clsLogits } = model.predict(x);
        ours.set(c.model, {
          loc: (await locPred.data()) as Float32Array,
          logits: (await clsLogits.data()) as Float32Array,
          sd,
        });
        tf.dispose([x, locPred, clsLogits]);
        jobs.push({
          arch: c.arch,
          pth: `${dir}/${c.model}.pth`,
          input: `${dir}/${c.model}_input.bin`,
          shape: [1, h, w, 3],
          out: `${dir}/${c.model}_torch`,
        });
      } finally {
        model.dispose();
      }
    }
    await Deno.writeTextFile(`${dir}/jobs.json`, JSON.stringify({ jobs }));
    const r = await new Deno.Command(PYTHON, {
      args: ["fixtures/export/check_pth.py", `${dir}/jobs.json`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.ok(r.success, `check_pth.py failed:\n${stderr}`);
    const lines = new TextDecoder().decode(r.stdout).trim().split("\n").map((l) => JSON.parse(l));
    for (const [i, c] of CASES.entries()) {
      const got = ours.get(c.model)!;
      const line = lines[i];
      assert.equal(line.arch, c.arch);
      assert.equal(line.keys, got.sd.size, `${c.model}: torch.load sees every entry`);
      const counters = [...got.sd].filter(([, t]) => t.dtype === "int64").map(([k]) => k);
      assert.deepEqual(line.int64, counters, `${c.model}: counters load as int64`);
      assert.equal(line.sha256, await sha256(got.sd), `${c.model}: torch holds our bytes exactly`);
      const loc = maxDiff(got.loc, await readF32(`${dir}/${c.model}_torch_loc.bin`));
      const logits = maxDiff(got.logits, await readF32(`${dir}/${c.model}_torch_logits.bin`));
      const peak = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      console.log(
        `${c.model}: max |loc| ${peak(got.loc).toPrecision(3)} diff ${JSON.stringify(loc)}; ` +
          `max |logits| ${peak(got.logits).toPrecision(3)} diff ${JSON.stringify(logits)}`,
      );
      const tol = (a: Float32Array) => 1e-4 * Math.max(1, peak(a));
      assert.ok(loc.abs <= tol(got.loc), `${c.model} loc: ${JSON.stringify(loc)}`);
      assert.ok(logits.abs <= tol(got.logits), `${c.model} logits: ${JSON.stringify(logits)}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
