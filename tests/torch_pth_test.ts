import assert from "node:assert/strict";
import { parseTorchStateDict, readTorchStateDict } from "../lib/io/torch.ts";
import { unpickle } from "../lib/io/pickle.ts";
import { readSafetensors } from "../lib/io/safetensors.ts";
import { FileError } from "../lib/errors.ts";
import type { TensorData } from "../lib/io/state_dict.ts";

interface Expected {
  name: string;
  dtype: string;
  shape: number[];
  values: number[];
}
const expected: { tensors: Expected[] } = JSON.parse(
  await Deno.readTextFile("fixtures/io/expected.json"),
);

/** IEEE half → number, written from the format, independent of the reader. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function values(t: TensorData): number[] {
  if (t.dtype === "float16") return [...t.data as Uint16Array].map(halfToNumber);
  return [...t.data].map(Number);
}

const TORCH_DTYPE: Record<string, string> = {
  float32: "float32",
  float16: "float16",
  float64: "float64",
  int64: "int64",
  int32: "int32",
  bool: "bool",
};

for (const file of ["tiny_zip.pth", "tiny_legacy.pth", "wrapped.pth"]) {
  Deno.test(`readTorchStateDict() reads ${file} exactly as torch does`, async () => {
    const sd = await readTorchStateDict(`fixtures/io/${file}`);
    assert.deepEqual([...sd.keys()], expected.tensors.map((t) => t.name));
    for (const e of expected.tensors) {
      const t = sd.get(e.name)!;
      assert.equal(t.dtype, TORCH_DTYPE[e.dtype], e.name);
      assert.deepEqual(t.shape, e.shape, e.name);
      const got = values(t);
      // float32 values survive JSON as doubles exactly; compare bit-exactly.
      assert.deepEqual(got, e.values.map(Number), e.name);
    }
  });
}

Deno.test("readTorchStateDict() copies out a transposed view and a storage slice", async () => {
  const sd = await readTorchStateDict("fixtures/io/tiny_zip.pth");
  const t = sd.get("transposed")!; // big.t(): [5, 3]
  const s = sd.get("sliced")!; // big[1:]: [2, 5], rows 1..2 of big [3, 5]
  // element [c, r] of the transpose is big[r, c]; big[1, c] is sliced[0, c]
  for (let c = 0; c < 5; c++) assert.equal(t.data[c * 3 + 1], s.data[c]);
});

for (const file of ["evil_system.pth", "evil_eval.pth"]) {
  Deno.test(`readTorchStateDict() refuses ${file} without running it`, async () => {
    await Deno.remove("/tmp/ssd_evil_pth_ran").catch(() => {});
    await assert.rejects(readTorchStateDict(`fixtures/io/${file}`), (err: unknown) => {
      assert.ok(err instanceof FileError);
      assert.match(
        err.reason,
        /^refusing to load: the pickle references (posix\.system|__builtin__\.eval), which a state dict never uses$/,
      );
      return true;
    });
    assert.throws(() => Deno.statSync("/tmp/ssd_evil_pth_ran"), Deno.errors.NotFound);
  });
}

Deno.test("unpickle() refuses opcodes a state dict never uses", () => {
  // protocol 2, EMPTY_SET (0x8f), STOP
  assert.throws(
    () => unpickle(new Uint8Array([0x80, 2, 0x8f, 0x2e]), { file: "set.pkl" }),
    /opcode 0x8f .* not one a state dict uses/,
  );
  // INST (0x69) builds an arbitrary class: refused at the global lookup
  const inst = new TextEncoder().encode("(ios\nsystem\nS'ls'\n.");
  assert.throws(() => unpickle(inst, { file: "inst.pkl" }), /opcode 0x69/);
  // a whitelisted name elsewhere does not let REDUCE call a non-global
  const reduce = new Uint8Array([0x80, 2, 0x4b, 1, 0x29, 0x52, 0x2e]);
  assert.throws(() => unpickle(reduce, { file: "r.pkl" }), /REDUCE on a value that is not/);
});

Deno.test("parseTorchStateDict() gives a one-line FileError on truncated files", async () => {
  for (const file of ["tiny_zip.pth", "tiny_legacy.pth"]) {
    const bytes = await Deno.readFile(`fixtures/io/${file}`);
    for (const cut of [10, Math.floor(bytes.length / 2), bytes.length - 3]) {
      assert.throws(
        () => parseTorchStateDict(bytes.subarray(0, cut), file),
        (err: unknown) => err instanceof FileError && !err.message.includes("\n"),
        `${file} cut at ${cut}`,
      );
    }
  }
  assert.throws(
    () => parseTorchStateDict(new TextEncoder().encode("hello"), "x.pth"),
    /not a PyTorch file/,
  );
});

interface Digest {
  name: string;
  dtype: string;
  shape: number[];
  sum: number;
  abs_sum: number;
  first: number[];
}
const ultraface: { slim: Digest[]; rfb: Digest[] } = JSON.parse(
  await Deno.readTextFile("fixtures/io/ultraface_expected.json"),
);

function assertDigest(t: TensorData, d: Digest) {
  assert.equal(t.dtype, d.dtype, d.name);
  assert.deepEqual(t.shape, d.shape, d.name);
  const v = values(t);
  let sum = 0;
  let abs = 0;
  for (const x of v) (sum += x), (abs += Math.abs(x));
  assert.ok(Math.abs(sum - d.sum) <= 1e-6 * (1 + d.abs_sum), `${d.name} sum ${sum} vs ${d.sum}`);
  assert.ok(Math.abs(abs - d.abs_sum) <= 1e-6 * (1 + d.abs_sum), `${d.name} abs sum`);
  assert.deepEqual(v.slice(0, 4), d.first, d.name);
}

Deno.test("readTorchStateDict() reads the real UltraFace slim .pth (legacy format) like torch", async () => {
  const sd = await readTorchStateDict("fixtures/io/version-slim-320.pth");
  assert.deepEqual([...sd.keys()], ultraface.slim.map((d) => d.name));
  for (const d of ultraface.slim) assertDigest(sd.get(d.name)!, d);
});

Deno.test("the shipped UltraFace safetensors hold torch's values minus num_batches_tracked", async () => {
  for (const [file, digests] of [["slim", ultraface.slim], ["rfb", ultraface.rfb]] as const) {
    const { tensors } = await readSafetensors(`weights/face-${file}-320.safetensors`);
    const kept = digests.filter((d) => !d.name.endsWith("num_batches_tracked"));
    assert.deepEqual([...tensors.keys()], kept.map((d) => d.name));
    for (const d of kept) assertDigest(tensors.get(d.name)!, d);
  }
});
