/**
 * Checks a tfjs backend end to end against the PyTorch references shipped in `fixtures/`:
 * UltraFace raw logits/loc on two photos (≤ 1e-4) and `detect()` on the three sample photos
 * at three thresholds (same count, boxes ≤ 1 px, scores ≤ 1e-3). Made for WebGPU on a real
 * GPU, where the tests (which use wasm and cpu) do not go:
 *
 *   deno run -A scripts/webgpu_check.ts [--backend webgpu|wasm|cpu] [--raw DIR] [--write-raw DIR] [--root DIR]
 *
 * `--write-raw DIR` decodes the sample photos into `DIR/<file>.rgb` (+ `.json` size) and exits;
 * `--raw DIR` reads them from there instead of decoding, so a bundle of this script needs no
 * image codec (the GPU machine gets a bundle and no node_modules).
 *
 * Prints one line per check and exits 1 if any fails.
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/engine/tfjs.ts";
import { loadModel } from "../lib/model/load.ts";
import { loadDetector } from "../lib/detector.ts";
import type { RgbImage } from "../lib/data/types.ts";
import { flag } from "./args.ts";
import { compareWithReference, type ReferenceFile } from "../tests/ultraface_reference.ts";

const backend = (flag("--backend") ?? "webgpu") as "webgpu" | "wasm" | "cpu";
const SAMPLES = [["1", "crowd.jpg"], ["9", "faces.jpg"], ["13", "pair.jpg"]];
/** The codec is imported by a computed path, so bundlers leave it out. */
const codec = () => import(String(new URL("../lib/data/image.ts", import.meta.url)));
const writeRaw = flag("--write-raw");
if (writeRaw !== undefined) {
  await Deno.mkdir(writeRaw, { recursive: true });
  for (const [, file] of SAMPLES) {
    const img: RgbImage = await (await codec()).readImage(
      new URL(`../samples/${file}`, import.meta.url).pathname,
    );
    await Deno.writeFile(`${writeRaw}/${file}.rgb`, img.data);
    await Deno.writeTextFile(`${writeRaw}/${file}.json`, JSON.stringify([img.width, img.height]));
  }
  Deno.exit(0);
}
const rawDir = flag("--raw");
async function sample(file: string): Promise<RgbImage> {
  if (rawDir === undefined) {
    return (await codec()).readImage(new URL(`samples/${file}`, root).pathname);
  }
  const [width, height] = JSON.parse(await Deno.readTextFile(`${rawDir}/${file}.json`));
  return { width, height, data: await Deno.readFile(`${rawDir}/${file}.rgb`) };
}
// The repository root; `--root` when this runs as a bundle somewhere else.
const root = flag("--root") === undefined
  ? new URL("../", import.meta.url)
  : new URL(`file://${Deno.realPathSync(flag("--root")!)}/`);
const info = await initBackend(backend);
console.log(`backend ${info.name}${info.adapter ? `: ${JSON.stringify(info.adapter)}` : ""}`);
const f32 = async (path: string) =>
  new Float32Array((await Deno.readFile(new URL(path, root))).buffer);
let failed = 0;

for (const [name, key] of [["face-slim-320", "slim320"], ["face-rfb-320", "rfb320"]]) {
  const model = await loadModel(name);
  for (const image of ["1", "8"]) {
    const u8 = await Deno.readFile(new URL(`fixtures/ultraface/${image}/input_rgb_u8.bin`, root));
    const x = tf.tidy(() => tf.div(tf.sub(tf.tensor4d(u8, [1, 240, 320, 3], "float32"), 127), 128));
    const { locPred, clsLogits } = model.predict(x as tf.Tensor4D);
    const diff = (a: ArrayLike<number>, b: Float32Array) =>
      b.reduce((m, v, k) => Math.max(m, Math.abs(v - a[k])), 0);
    const dl = diff(
      await clsLogits.data(),
      await f32(`fixtures/ultraface/${image}/${key}_logits.bin`),
    );
    const dc = diff(await locPred.data(), await f32(`fixtures/ultraface/${image}/${key}_loc.bin`));
    tf.dispose([x, locPred, clsLogits]);
    const ok = dl <= 1e-4 && dc <= 1e-4;
    failed += ok ? 0 : 1;
    console.log(
      `${ok ? "ok  " : "FAIL"} ${name} image ${image}: max |Δlogits| ${
        dl.toExponential(2)
      }, max |Δloc| ${dc.toExponential(2)}`,
    );
  }
  model.dispose();
  const detector = await loadDetector(name);
  for (const [id, file] of SAMPLES) {
    const ref: ReferenceFile = JSON.parse(
      await Deno.readTextFile(
        new URL(`fixtures/ultraface/${id}/${key}_detections.json`, root),
      ),
    );
    const image = await sample(file);
    for (const thr of ["0.7", "0.6", "0.3"]) {
      const ours = await detector.detect(image, { scoreThreshold: Number(thr) });
      const c = compareWithReference(ours, ref.thresholds[thr].detections, image);
      const ok = c.countOurs === c.countReference && c.unpaired === 0;
      failed += ok ? 0 : 1;
      console.log(
        `${
          ok ? "ok  " : "FAIL"
        } ${name} detect ${file} @ ${thr}: ${c.countOurs}/${c.countReference} ` +
          `detections, max |Δbox| ${c.maxBoxPx.toFixed(4)} px, max |Δscore| ${
            c.maxScore.toExponential(2)
          }`,
      );
    }
  }
  await detector.dispose();
}
console.log(failed === 0 ? "all checks passed" : `${failed} checks failed`);
Deno.exit(failed === 0 ? 0 : 1);
