/**
 * Forward-pass time of our models on one tfjs backend (one backend per process: wasm starts
 * once). Prints one JSON object like `bench/torch_forward.py`, plus tensor count and RSS after
 * the runs (a leak shows as growth).
 *
 *   deno run -A bench/forward_bench.ts [--backend wasm|webgpu|cpu] [--runs 10] [--batch 1]
 *     [--models face-slim-320,face-rfb-320,ssdlite320,ssd300-coco]
 */
import * as tf from "@tensorflow/tfjs-core";
import { getConfig } from "../lib/config.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { flag } from "../scripts/args.ts";
import { loadModel } from "../lib/model/load.ts";

const backend = flag("--backend", "wasm") as "wasm" | "webgpu" | "cpu";
const runs = Number(flag("--runs", "10"));
const batch = Number(flag("--batch", "1"));
const names = flag("--models", "face-slim-320,face-rfb-320,ssdlite320,ssd300-coco").split(",");

const info = await initBackend(backend);
const out: Record<string, unknown> = {
  backend: info.name,
  threads: info.threads,
  adapter: info.adapter?.description ?? info.adapter?.vendor,
  models: {} as Record<string, unknown>,
};
for (const name of names) {
  // Shipped weights where they exist, else torchvision's architecture with random weights.
  const model = name.startsWith("face-")
    ? await loadModel(name)
    : buildModel(getConfig(name), { seed: 0 });
  const [h, w] = model.config.imageSize;
  const x = tf.randomUniform([batch, h, w, 3], -1, 1, "float32", 0) as tf.Tensor4D;
  const forward = async () => {
    const { locPred, clsLogits } = model.predict(x);
    await Promise.all([locPred.data(), clsLogits.data()]);
    locPred.dispose();
    clsLogits.dispose();
  };
  await forward(); // warm-up: compiles shaders / kernels
  const before = tf.memory().numTensors;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await forward();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  (out.models as Record<string, unknown>)[name] = {
    batch,
    ms: samples[Math.floor(samples.length / 2)],
    params: model.numParams(),
    tensorGrowth: tf.memory().numTensors - before,
  };
  x.dispose();
  model.dispose();
}
out.rssMiB = Math.round(Deno.memoryUsage().rss / 2 ** 20);
console.log(JSON.stringify(out));
