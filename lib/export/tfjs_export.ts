/**
 * `ssd export --format tfjs`: a TF.js graph model folder (`model.json` + weight shards),
 * written into a temporary folder beside the target, loaded back with tfjs-converter and run on
 * sample images against the model's own `predict`, and renamed into place only when every
 * output is within the tolerance. The target must not exist yet (or be an empty folder).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { dirname, resolve } from "node:path";
import { FileError } from "../errors.ts";
import type { SsdModel } from "../model/ssd.ts";
import { exportTfjsGraphModel } from "./tfjs_graph.ts";
import { loadTfjsGraphModel } from "./tfjs_graph_load.ts";
import { maxAbs, maxAbsDiff, sampleInput } from "./onnx.ts";

/** How the written graph model compared with `model.predict` on the sample images. */
export interface TfjsCheck {
  batch: number;
  tolerance: number;
  maxAbsDiff: { loc: number; logits: number };
}

/** Refuses a target that holds anything: an export never mixes with or replaces old files. */
async function checkTarget(out: string): Promise<void> {
  const info = await Deno.stat(out).catch(() => null);
  if (info && !info.isDirectory) {
    throw new FileError(out, "cannot write: it is a file, not a folder");
  }
  if (info) {
    for await (const _ of Deno.readDir(out)) {
      throw new FileError(out, "cannot write: the folder is not empty");
    }
  }
  const parent = await Deno.stat(dirname(resolve(out))).catch(() => null);
  if (!parent?.isDirectory) throw new FileError(out, "cannot write: its folder does not exist");
}

/**
 * Runs the graph model in `dir` and `model.predict` on the same images: per output the largest
 * |Δ| and the scale it is judged at, max(1, max |reference|), as the ONNX check does.
 */
async function compare(model: SsdModel, dir: string, batch: number) {
  const graphModel = await loadTfjsGraphModel(dir);
  const [h, w] = model.config.imageSize;
  const images = tf.tensor4d(sampleInput(model.config, batch), [batch, h, w, 3]);
  const ours = model.predict(images);
  const theirs = graphModel.execute(images, ["loc", "logits"]) as tf.Tensor[];
  try {
    const [loc, logits] = [await ours.locPred.data(), await ours.clsLogits.data()];
    return {
      d: {
        loc: maxAbsDiff(loc, await theirs[0].data()),
        logits: maxAbsDiff(logits, await theirs[1].data()),
      },
      scale: { loc: Math.max(1, maxAbs(loc)), logits: Math.max(1, maxAbs(logits)) },
    };
  } finally {
    tf.dispose([images, ours.locPred, ours.clsLogits, ...theirs]);
    graphModel.dispose();
  }
}

/**
 * Writes `model` as a TF.js graph model into the folder `out`, checked in tfjs-converter.
 *
 * @throws {FileError} naming `out` when it exists with content, cannot be written, or the
 * written model disagrees with `model.predict` by more than `tolerance`·max(1, |output|)
 * (then nothing is left behind).
 */
export async function writeTfjsModel(
  model: SsdModel,
  out: string,
  opts: { tolerance?: number; checkBatch?: number } = {},
): Promise<{ bytes: number; files: number; check: TfjsCheck }> {
  const tolerance = opts.tolerance ?? 1e-4;
  const batch = opts.checkBatch ?? 2;
  await checkTarget(out);
  const tmp = `${out.replace(/\/+$/, "")}.${Deno.pid}.tmp`;
  try {
    const { files, weightBytes } = await exportTfjsGraphModel(
      model.graph,
      model.stateDict(),
      model.config,
      tmp,
    );
    const { d, scale } = await compare(model, tmp, batch);
    if (!(d.loc <= tolerance * scale.loc && d.logits <= tolerance * scale.logits)) {
      const allowed = (k: "loc" | "logits") => (tolerance * scale[k]).toExponential(1);
      throw new FileError(
        out,
        `the TF.js graph model disagrees with the model: max |Δ| loc ${d.loc.toExponential(1)} ` +
          `(allowed ${allowed("loc")}), logits ${d.logits.toExponential(1)} ` +
          `(allowed ${allowed("logits")})`,
      );
    }
    await Deno.remove(out).catch(() => {}); // an empty target folder
    await Deno.rename(tmp, out);
    const json = (await Deno.stat(`${out}/model.json`)).size;
    return {
      bytes: weightBytes + json,
      files: files.length,
      check: { batch, tolerance, maxAbsDiff: d },
    };
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    if (err instanceof FileError) throw err;
    throw new FileError(out, `cannot write: ${err instanceof Error ? err.message : err}`, {
      cause: err,
    });
  }
}
