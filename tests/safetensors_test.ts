import assert from "node:assert/strict";
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from "../lib/io/safetensors.ts";
import { FileError } from "../lib/errors.ts";
import type { StateDict } from "../lib/io/state_dict.ts";

/** A safetensors file built by hand from the format description, not by our writer. */
function handMade(header: string, data: number[]): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  out[0] = h.length & 0xff; // little-endian u64; headers here are < 256 bytes
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

Deno.test("parseSafetensors() reads a hand-made F32 file with metadata", () => {
  // 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 (IEEE 754, little-endian)
  const bytes = handMade(
    '{"__metadata__":{"arch":"tiny"},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0],
  );
  const { tensors, metadata } = parseSafetensors(bytes, "hand.safetensors");
  assert.deepEqual(metadata, { arch: "tiny" });
  assert.deepEqual([...tensors.keys()], ["a", "b"], "tensors come back in data order");
  assert.deepEqual([...tensors.get("a")!.data], [1]);
  assert.deepEqual([...tensors.get("b")!.data], [-2]);
});

Deno.test("parseSafetensors() widens BF16 to float32 exactly", () => {
  // bf16 0x3fc0 = 1.5, 0xc100 = -8
  const bytes = handMade(
    '{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}',
    [0xc0, 0x3f, 0x00, 0xc1],
  );
  const x = parseSafetensors(bytes, "bf16.safetensors").tensors.get("x")!;
  assert.equal(x.dtype, "float32");
  assert.deepEqual([...x.data], [1.5, -8]);
});

Deno.test("serializeSafetensors() pads the header to 8 bytes and lays data out in order", () => {
  const tensors: StateDict = new Map([
    ["w", { dtype: "float32", shape: [3], data: new Float32Array([1, 2, 3]) }],
    ["n", { dtype: "int64", shape: [], data: new BigInt64Array([91656n]) }],
  ]);
  const bytes = serializeSafetensors(tensors, { model: "m" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header.w, { dtype: "F32", shape: [3], data_offsets: [0, 12] });
  assert.deepEqual(header.n, { dtype: "I64", shape: [], data_offsets: [12, 20] });
  assert.equal(bytes.length, 8 + n + 20);
  // 91656 = 0x16608, little-endian at data byte 12
  assert.deepEqual([...bytes.subarray(8 + n + 12, 8 + n + 15)], [0x08, 0x66, 0x01]);
});

Deno.test("writeSafetensors() round-trips every dtype through a file, leaving no temp file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/all.safetensors`;
  const tensors: StateDict = new Map([
    ["f32", { dtype: "float32", shape: [2, 2], data: new Float32Array([1.5, -2, 3.25, 0]) }],
    ["f16", { dtype: "float16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }],
    ["f64", { dtype: "float64", shape: [1], data: new Float64Array([Math.PI]) }],
    ["i64", { dtype: "int64", shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) }],
    ["i32", { dtype: "int32", shape: [3], data: new Int32Array([-7, 0, 7]) }],
    ["u8", { dtype: "uint8", shape: [2], data: new Uint8Array([0, 255]) }],
    ["bool", { dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ["empty", { dtype: "float32", shape: [0, 4], data: new Float32Array(0) }],
  ]);
  await writeSafetensors(path, tensors, { config: '{"a":1}', classes: '["bg","x"]' });
  const back = await readSafetensors(path);
  assert.deepEqual(back.metadata, { config: '{"a":1}', classes: '["bg","x"]' });
  assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const b = back.tensors.get(name)!;
    assert.equal(b.dtype, t.dtype, name);
    assert.deepEqual(b.shape, t.shape, name);
    assert.deepEqual([...b.data], [...t.data], name);
  }
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["all.safetensors"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseSafetensors() gives a one-line FileError on a truncated file", () => {
  const bytes = serializeSafetensors(
    new Map([["w", { dtype: "float32", shape: [4], data: new Float32Array([1, 2, 3, 4]) }]]),
  );
  for (const cut of [0, 5, 20, bytes.length - 1]) {
    assert.throws(
      () => parseSafetensors(bytes.subarray(0, cut), "cut.safetensors"),
      (err: unknown) => {
        assert.ok(err instanceof FileError);
        assert.equal(err.file, "cut.safetensors");
        assert.match(err.reason, /^truncated safetensors file/);
        assert.ok(!err.message.includes("\n"), "one line");
        return true;
      },
      `cut at ${cut}`,
    );
  }
});

Deno.test("parseSafetensors() rejects malformed headers with FileError", () => {
  const cases: [string, RegExp][] = [
    ["not json at all", /malformed safetensors header/],
    ["[1,2]", /expected a JSON object/],
    ['{"x":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}', /unsupported dtype "Q8"/],
    ['{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', /has 4 bytes but shape \[2\]/],
    ['{"__metadata__":{"n":3}}', /__metadata__\.n must be a string/],
  ];
  for (const [header, pattern] of cases) {
    const bytes = handMade(header, [0, 0, 0, 0]);
    assert.throws(() => parseSafetensors(bytes, "bad.safetensors"), pattern, header);
  }
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  assert.throws(() => parseSafetensors(huge, "huge.safetensors"), /header length .* too large/);
});

Deno.test("readSafetensors() reports a missing file as a FileError", async () => {
  await assert.rejects(readSafetensors("no/such.safetensors"), FileError);
});

Deno.test("readSafetensors() reads the shipped UltraFace weights with their provenance", async () => {
  for (
    const [model, arch, count] of [
      ["face-slim-320", "ultraface_slim", 159],
      ["face-rfb-320", "ultraface_rfb", 209],
    ] as const
  ) {
    const { tensors, metadata } = await readSafetensors(`weights/${model}.safetensors`);
    assert.equal(tensors.size, count);
    assert.equal(metadata.model, model);
    assert.equal(metadata.arch, arch);
    assert.equal(metadata.source_commit, "dffdddda");
    assert.match(metadata.license, /^MIT/);
    assert.deepEqual(JSON.parse(metadata.classes), ["background", "face"]);
    assert.ok([...tensors.values()].every((t) => t.dtype === "float32"));
  }
});
