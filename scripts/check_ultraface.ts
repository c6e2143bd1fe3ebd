/**
 * Checks our UltraFace slim and RFB against the PyTorch reference outputs on all 12 public
 * images of `../shared/data/ultraface/public/`: raw logits, raw loc, softmax scores and decoded
 * boxes (ARCHITECTURE.md §8: variances 0.1/0.2 against `priors_cxcywh.bin`), for the weights
 * loaded from the original `.pth` and from the shipped `.safetensors`, on each backend.
 *
 *   deno run -A scripts/check_ultraface.ts [--backends wasm,cpu] [--data ../shared/data/ultraface]
 *
 * Prints one line per model, weights and backend with the max abs differences; exits 1 if any
 * exceeds 1e-4.
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/engine/tfjs.ts";
import { flag } from "./args.ts";
import { loadModel } from "../lib/model/load.ts";

const data = flag("--data", new URL("../../shared/data/ultraface", import.meta.url).pathname);
const backends = flag("--backends", "wasm,cpu").split(",") as ("wasm" | "cpu")[];
const f32 = async (p: string) => new Float32Array((await Deno.readFile(p)).buffer);
const manifest = JSON.parse(await Deno.readTextFile(`${data}/public/manifest.json`));
const images: string[] = manifest.images.map((m: { file: string }) => m.file.replace(/\.jpg$/, ""));
const priors = await f32(`${data}/public/priors_cxcywh.bin`); // [4420, 4] cxcywh

/** softmax over 2 columns and the decoded corner boxes, in float64 from our raw outputs. */
function decode(logits: Float32Array, loc: Float32Array) {
  const scores = new Float64Array(logits.length);
  const boxes = new Float64Array(loc.length);
  for (let p = 0; p < logits.length / 2; p++) {
    const m = Math.max(logits[2 * p], logits[2 * p + 1]);
    const e0 = Math.exp(logits[2 * p] - m), e1 = Math.exp(logits[2 * p + 1] - m);
    scores[2 * p] = e0 / (e0 + e1);
    scores[2 * p + 1] = e1 / (e0 + e1);
    const [pcx, pcy, pw, ph] = priors.subarray(4 * p, 4 * p + 4);
    const cx = loc[4 * p] * 0.1 * pw + pcx, cy = loc[4 * p + 1] * 0.1 * ph + pcy;
    const w = Math.exp(loc[4 * p + 2] * 0.2) * pw, h = Math.exp(loc[4 * p + 3] * 0.2) * ph;
    boxes.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * p);
  }
  return { scores, boxes };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

let worst = 0;
for (const backend of backends) {
  await initBackend(backend);
  for (
    const [name, ref, pth] of [
      ["face-slim-320", "slim320", "version-slim-320.pth"],
      ["face-rfb-320", "rfb320", "version-RFB-320.pth"],
    ]
  ) {
    for (const spec of [`${data}/${pth}`, name]) {
      const model = await loadModel(spec);
      const d = { logits: 0, loc: 0, scores: 0, boxes: 0 };
      for (const image of images) {
        const dir = `${data}/public/${image}`;
        const u8 = await Deno.readFile(`${dir}/input_rgb_u8.bin`);
        const x = tf.tidy(() =>
          tf.div(tf.sub(tf.tensor4d(u8, [1, 240, 320, 3], "float32"), 127), 128)
        ) as tf.Tensor4D;
        const out = model.predict(x);
        const logits = (await out.clsLogits.data()) as Float32Array;
        const loc = (await out.locPred.data()) as Float32Array;
        tf.dispose([x, out.locPred, out.clsLogits]);
        const { scores, boxes } = decode(logits, loc);
        d.logits = Math.max(d.logits, maxAbs(logits, await f32(`${dir}/${ref}_logits.bin`)));
        d.loc = Math.max(d.loc, maxAbs(loc, await f32(`${dir}/${ref}_loc.bin`)));
        d.scores = Math.max(d.scores, maxAbs(scores, await f32(`${dir}/${ref}_scores.bin`)));
        d.boxes = Math.max(d.boxes, maxAbs(boxes, await f32(`${dir}/${ref}_boxes.bin`)));
      }
      model.dispose();
      worst = Math.max(worst, ...Object.values(d));
      const src = spec.endsWith(".pth") ? "pth" : "safetensors";
      console.log(
        `${name} ${src} ${backend}: ${images.length} images, max |diff| logits ${
          d.logits.toExponential(2)
        } ` +
          `loc ${d.loc.toExponential(2)} scores ${d.scores.toExponential(2)} boxes ${
            d.boxes.toExponential(2)
          }`,
      );
    }
  }
}
console.log(worst <= 1e-4 ? "ok: all within 1e-4" : `FAIL: worst ${worst}`);
Deno.exit(worst > 1e-4 ? 1 : 0);
