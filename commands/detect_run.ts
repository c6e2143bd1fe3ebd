/**
 * The body of `ssd detect`, loaded lazily so `--help` stays instant. Each image is decoded,
 * detected and reported on its own: a broken image is one `error:` line on stderr, and the
 * others are still processed (exit code 1 at the end).
 *
 * Outputs go to a new run folder (`runs/detect/predict`, `predict2`, …), to exactly `--out`, or
 * nowhere (`--no-save`). The speed line times every stage of the loop, drawing and writing too.
 */
import { basename, extname, join } from "node:path";
import { FileError, UsageError } from "../lib/errors.ts";
import { expandInputs } from "../lib/data/inputs.ts";
import { readImage } from "../lib/data/image.ts";
import { drawDetections } from "../lib/data/draw.ts";
import { encodePng } from "../lib/data/image_codec.ts";
import {
  checkWritableFile,
  makeOutputDir,
  refuseOverwriting,
  writeFileAtomic,
} from "../lib/io/atomic.ts";
import { makeRunDir } from "../lib/io/run_dir.ts";
import { type Detection, type Detector, isOnnxModel, loadDetector } from "../lib/detector.ts";
import { modelWeightsFile } from "../lib/model/load.ts";
import { xyxyToCoco } from "../lib/data/box_px.ts";
import type { DrawOptions } from "../lib/data/draw.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { resolveEngine } from "./options.ts";
import { JobProgress } from "./progress.ts";

/** Where `ssd detect` writes drawn images and `detections.json`. */
export type DetectSave =
  | { kind: "none" }
  | { kind: "exact"; dir: string }
  | { kind: "run"; project: string; name: string };

/** Parsed flags of `ssd detect`. */
export interface DetectRunOptions {
  model: string;
  arch?: string;
  backend: "auto" | "wasm" | "webgpu" | "cpu";
  engine: "auto" | "tfjs" | "onnx";
  score?: number;
  iou?: number;
  maxDet?: number;
  classes?: string[];
  json: boolean;
  save: DetectSave;
  cocoResults?: string;
  draw: Pick<DrawOptions, "lineWidth" | "hideLabels" | "hideConf">;
  quiet: boolean;
}

/** One image's result in the `--json` schema of DESIGN.md. */
export interface ImageResult {
  image: string;
  width: number;
  height: number;
  detections: Detection[];
}

/** `[{image, width, height, detections:[{bbox,score,label,class}]}]` with rounded numbers. */
function toJson(results: ImageResult[]): string {
  const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
  return JSON.stringify(
    results.map((r) => ({
      ...r,
      detections: r.detections.map((d) => ({
        bbox: d.bbox.map((v) => round(v, 2)),
        score: round(d.score, 6),
        label: d.label,
        class: d.class,
      })),
    })),
    null,
    2,
  );
}

/**
 * COCO image ids for the files: the digits their names end in (`000000397133.jpg` → 397133)
 * when every file has such digits and no two share them, else positions 1…N for all (said on
 * stderr), so two images never share an id.
 */
export function cocoImageIds(files: string[]): { ids: number[]; fromNames: boolean } {
  const digits = files.map((f) => basename(f, extname(f)).match(/(\d+)$/)?.[1]);
  const ids = digits.map(Number);
  if (digits.every((d) => d !== undefined) && new Set(ids).size === ids.length) {
    return { ids, fromNames: true };
  }
  return { ids: files.map((_, i) => i + 1), fromNames: false };
}

/** Drawn-image file names, unique within the output folder. */
function outputName(file: string, used: Set<string>): string {
  const stem = basename(file, extname(file));
  let name = `${stem}.png`;
  for (let k = 2; used.has(name); k++) name = `${stem}_${k}.png`;
  used.add(name);
  return name;
}

/** Whether a folder exists and holds anything. */
async function holdsFiles(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return true;
  } catch { /* absent (or unreadable: makeOutputDir reports it) */ }
  return false;
}

/** Milliseconds spent per stage over the images detected. */
interface StageTotals {
  decode: number;
  pre: number;
  infer: number;
  post: number;
  draw: number;
  write: number;
  n: number;
}

/** `speed: …` with every stage timed, per image, and the loop's wall time. */
function speedLine(t: StageTotals, saved: boolean, seconds: number, engine: string): string {
  const per = (v: number) => (v / t.n).toFixed(1);
  const stages = [
    `${per(t.decode)} ms decode`,
    `${per(t.pre)} ms preprocess`,
    `${per(t.infer)} ms inference`,
    `${per(t.post)} ms postprocess`,
    ...(saved ? [`${per(t.draw)} ms draw`, `${per(t.write)} ms write`] : []),
  ];
  const total = t.decode + t.pre + t.infer + t.post + t.draw + t.write;
  return `speed: ${stages.join(", ")} per image; ${per(total)} ms in all ` +
    `(${t.n} ${t.n === 1 ? "image" : "images"} in ${seconds.toFixed(1)} s, ${engine})`;
}

/** Runs detection over the inputs and writes/prints the results. */
export async function runDetect(inputs: string[], opts: DetectRunOptions): Promise<void> {
  const { files, errors } = await expandInputs(inputs);
  for (const err of errors) console.error(`error: ${err.message}`);
  if (files.length === 0) {
    // Every input was reported above; there is nothing more to say.
    Deno.exitCode = 1;
    return;
  }
  const used = new Set<string>();
  const drawnNames = files.map((file) => outputName(file, used));
  const exact = opts.save.kind === "exact" ? opts.save.dir : undefined;
  const weights = modelWeightsFile(opts.model);
  refuseOverwriting([...files, ...(weights === undefined ? [] : [weights])], [
    ...(exact ? [...drawnNames, "detections.json"].map((n) => join(exact, n)) : []),
    ...(opts.cocoResults ? [opts.cocoResults] : []),
  ], exact ? [exact] : []);
  if (opts.cocoResults) await checkWritableFile(opts.cocoResults);
  const reused = exact !== undefined && await holdsFiles(exact);
  if (exact) await makeOutputDir(exact);

  // an exported .onnx model never needs tfjs
  const onnxFile = isOnnxModel(opts.model);
  const backend = onnxFile ? null : await initBackend(opts.backend);
  const detector: Detector = await loadDetector(opts.model, {
    arch: opts.arch,
    engine: resolveEngine(opts.engine, opts.backend),
  });
  const unknown = (opts.classes ?? []).filter((c) => !detector.config.classes.includes(c));
  if (unknown.length > 0) {
    await detector.dispose();
    const known = detector.config.classes;
    throw new UsageError(
      `--classes: ${detector.config.name} has no class ${unknown.map((c) => `"${c}"`).join(", ")}` +
        ` (it knows ${known.slice(0, 12).join(", ")}${known.length > 12 ? ", …" : ""})`,
    );
  }
  // The run folder is claimed once the model is known to load, so a failed start leaves none.
  let outDir = exact;
  if (opts.save.kind === "run") {
    try {
      outDir = await makeRunDir(join(opts.save.project, "detect"), opts.save.name);
    } catch (err) {
      await detector.dispose();
      throw err;
    }
  }
  if (reused && !opts.quiet) {
    console.error(
      `note: ${exact} already holds files; those of the same names are replaced ` +
        "(without --out, each run gets its own folder under runs/detect)",
    );
  }
  const results: ImageResult[] = [];
  const cocoResults: { image_id: number; category_id: number; bbox: number[]; score: number }[] =
    [];
  const { ids: imageIds, fromNames } = cocoImageIds(files);
  if (opts.cocoResults && !fromNames && !opts.quiet) {
    console.error(
      "note: --coco-results numbers the images 1…N in input order (their names do not all end " +
        "in distinct numbers)",
    );
  }
  const totals: StageTotals = { decode: 0, pre: 0, infer: 0, post: 0, draw: 0, write: 0, n: 0 };
  const progress = new JobProgress({
    label: "detect",
    unit: "images",
    total: files.length,
    quiet: opts.quiet,
  });
  let failed = errors.length;
  try {
    for (const [index, file] of files.entries()) {
      try {
        let t0 = performance.now();
        const image = await readImage(file);
        totals.decode += performance.now() - t0;
        const detections = await detector.detect(image, {
          scoreThreshold: opts.score,
          nmsIou: opts.iou,
          maxDetections: opts.maxDet,
          classes: opts.classes,
        });
        const t = detector.lastTimings;
        totals.pre += t.preprocessMs;
        totals.infer += t.inferenceMs;
        totals.post += t.postprocessMs;
        results.push({ image: file, width: image.width, height: image.height, detections });
        const id = imageIds[index];
        for (const d of detections) {
          cocoResults.push({
            image_id: id,
            category_id: d.label,
            bbox: xyxyToCoco(d.bbox).map((v) => Math.round(v * 100) / 100),
            score: Math.round(d.score * 1e6) / 1e6,
          });
        }
        if (!opts.json) {
          progress.print(() => {
            console.log(`${file}: ${detections.length} ${plural(detections.length)}`);
            for (const d of detections) {
              const box = d.bbox.map((v) => v.toFixed(1)).join(", ");
              console.log(`  ${d.class} ${d.score.toFixed(3)} [${box}]`);
            }
          });
        }
        if (outDir !== undefined) {
          t0 = performance.now();
          const drawn = await drawDetections(
            image,
            detections.map((d) => ({
              bboxPx: d.bbox,
              label: d.class,
              score: d.score,
              classIndex: d.label,
            })),
            opts.draw,
          );
          const t1 = performance.now();
          totals.draw += t1 - t0;
          await writeFileAtomic(join(outDir, drawnNames[index]), await encodePng(drawn));
          totals.write += performance.now() - t1;
        }
        totals.n++;
      } catch (err) {
        failed++;
        progress.print(() => {
          if (err instanceof FileError) console.error(`error: ${err.message}`);
          else console.error(`error: ${file}: ${err instanceof Error ? err.message : err}`);
        });
      }
      progress.tick();
    }
  } finally {
    progress.stop();
    await detector.dispose();
  }

  if (opts.json) console.log(toJson(results));
  if (outDir !== undefined) {
    await writeFileAtomic(join(outDir, "detections.json"), toJson(results) + "\n");
  }
  if (opts.cocoResults) {
    await writeFileAtomic(opts.cocoResults, JSON.stringify(cocoResults) + "\n");
  }
  if (!opts.quiet && totals.n > 0) {
    const engine = `${detector.config.name} on ` +
      (detector.engine.kind === "onnxruntime" || !backend
        ? "onnxruntime"
        : `${backend.name}${backend.name === "wasm" ? ` ×${backend.threads} threads` : ""}`);
    console.error(speedLine(totals, outDir !== undefined, progress.seconds, engine));
  }
  if (!opts.quiet && outDir !== undefined) {
    const drawn = totals.n === 1 ? "1 drawn image" : `${totals.n} drawn images`;
    console.error(`wrote ${drawn} and detections.json to ${outDir}`);
  }
  if (failed > 0) Deno.exitCode = 1;
}

function plural(n: number): string {
  return n === 1 ? "detection" : "detections";
}
