import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { backendInfo, initBackend, probeWebGpuAdapter } from "../lib/engine/tfjs.ts";
import { maxAbsDiff, runConvCheck } from "../lib/engine/check.ts";
import { onnxruntimeAvailable } from "../lib/engine/onnx.ts";
import { denoRunArgs } from "./cli.ts";
import { webGpuTest } from "./webgpu_helpers.ts";

Deno.env.set("XDG_RUNTIME_DIR", Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp");

Deno.test("initBackend() starts wasm with 2 threads and SIMD, matching cpu on the conv check", async () => {
  await initBackend("cpu");
  const reference = await runConvCheck();
  const info = await initBackend("wasm", { threads: 2 });
  assert.equal(info.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(info.threads, 2, `threads: ${info.note ?? ""}`);
  assert.equal(info.simd, true);
  assert.deepEqual(backendInfo(), info);
  const out = await runConvCheck();
  assert.ok(maxAbsDiff(out, reference) < 1e-5, `max diff ${maxAbsDiff(out, reference)}`);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) await runConvCheck();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("initBackend('auto') takes WebGPU only on a real adapter", async () => {
  const adapter = await probeWebGpuAdapter();
  const info = await initBackend("auto", { threads: 2 });
  if (adapter === null || adapter.isFallbackAdapter) {
    assert.equal(info.name, "wasm");
    assert.match(info.note ?? "", /^auto chose wasm: /);
  } else {
    assert.equal(info.name, "webgpu");
  }
});

Deno.test("probeWebGpuAdapter() reports limits or null, never throws", async () => {
  const adapter = await probeWebGpuAdapter();
  if (adapter !== null) {
    assert.ok(adapter.maxStorageBufferBindingSize >= 128 * 1024 * 1024);
    assert.equal(typeof adapter.isFallbackAdapter, "boolean");
  }
});

Deno.test("onnxruntimeAvailable() loads onnxruntime-node", async () => {
  const status = await onnxruntimeAvailable();
  assert.equal(status.ok, true, status.error ?? "");
  assert.match(status.version ?? "", /^1\.20\./);
});

Deno.test("a script that used threaded wasm exits on its own (the pool does not hold it open)", async () => {
  const dir = await Deno.makeTempDir();
  const script = `${dir}/uses_wasm.ts`;
  const engine = new URL("../lib/engine/tfjs.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "${engine}";
const info = await initBackend("wasm", { threads: 2 });
const y = tf.conv2d(tf.ones([1, 32, 32, 4]) as tf.Tensor4D, tf.ones([3, 3, 4, 4]) as tf.Tensor4D, 1, "same");
console.log(info.threads, (await y.data())[0]);
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [...denoRunArgs(), script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill(), 30_000);
  const out = await child.output();
  clearTimeout(timer);
  await Deno.remove(dir, { recursive: true });
  assert.equal(out.code, 0, `did not exit by itself: ${new TextDecoder().decode(out.stderr)}`);
  // threads, and the corner of a 3×3 "same" conv of ones: a 2×2 window × 4 channels = 16.
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "2 16");
});

webGpuTest(
  "tf.addN on webgpu sums any number of inputs (tfjs's shader binds one buffer per input)",
  async () => {
    // 7 inputs fit the default 8 storage buffers with the output; 8 and more did not
    for (const k of [2, 7, 8, 9, 40]) {
      const inputs = Array.from({ length: k }, (_, i) => tf.fill([1000], i + 1));
      const sum = tf.addN(inputs);
      const got = await sum.data();
      const want = (k * (k + 1)) / 2;
      assert.ok(got.every((v) => v === want), `${k} inputs: ${got[0]}, want ${want}`);
      tf.dispose([...inputs, sum]);
    }
  },
);
