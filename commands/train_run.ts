/**
 * `ssd train`: resolves the datasets, the model and where it starts, makes the run folder,
 * then hands over to `lib/train/loop.ts` and shows its progress. Loaded lazily.
 */
import { FileError, UsageError } from "../lib/errors.ts";
import { findSet, HELD_OUT_SETS, loadDataset } from "../lib/data/dataset.ts";
import type { Dataset } from "../lib/data/types.ts";
import { makeRng, mixSeed, shuffled } from "../lib/data/rng.ts";
import { type BackendInfo, initBackend } from "../lib/engine/tfjs.ts";
import { onnxTrainingGap } from "../lib/engine/onnx_train_graph.ts";
import { buildModel, type SsdModel } from "../lib/model/ssd.ts";
import { loadModel, resolveConfig } from "../lib/model/load.ts";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { makeRunDir } from "../lib/io/run_dir.ts";
import type { EvalReport } from "../lib/eval/evaluate.ts";
import { evalReportJson, formatEvalTable } from "../lib/eval/report.ts";
import { readCheckpoint } from "../lib/train/checkpoint.ts";
import { backbonePrefixes, classesDiffer, loadInitWeights } from "../lib/train/init.ts";
import { runLength, train, type TrainConfig } from "../lib/train/loop.ts";
import { formatDuration, TrainProgress } from "./train_progress.ts";
import { resolveEngine } from "./options.ts";

/** The flags of `ssd train` (what `args.json` of a run records). */
export interface TrainFlags {
  model?: string;
  init?: string;
  arch?: string;
  data?: string;
  set?: string;
  val?: string;
  valSet?: string;
  valSplit?: number;
  epochs: number;
  iterations?: number;
  batch: number;
  lr: number;
  schedule: "cosine" | "multistep" | "constant";
  warmup?: number;
  momentum: number;
  weightDecay: number;
  freeze?: boolean;
  keepHeads?: boolean;
  augment: boolean;
  valEvery: number;
  backend: "auto" | "wasm" | "webgpu" | "cpu";
  engine?: "auto" | "tfjs" | "onnx";
  seed: number;
  workers: number;
  project: string;
  name: string;
  resume?: string;
  json?: boolean;
  quiet?: boolean;
}

/** Flags that may change when a run is resumed (they do not change its numbers). */
const RESUMABLE = new Set([
  "epochs",
  "iterations",
  "backend",
  "engine",
  "workers",
  "json",
  "quiet",
  "resume",
]);

/** The training and validation sets the flags name. */
async function datasets(f: TrainFlags): Promise<{ data: Dataset; val?: Dataset; note: string }> {
  const set = f.set ?? await findSet(f.data!, ["trainval", "train"]);
  const data = await loadDataset(f.data!, { set });
  if (data.samples.length === 0) throw new FileError(f.data!, "the training set has no images");
  const withSet = (p: string, s?: string) => (s ? `${p} (${s})` : p);
  if (f.val !== undefined) {
    const valSet = f.valSet ?? await findSet(f.val, HELD_OUT_SETS);
    const val = await loadDataset(f.val, { set: valSet, classes: data.classes });
    return { data, val, note: `validation ${withSet(f.val, valSet)}` };
  }
  if (f.valSplit !== undefined) {
    const order = shuffled(makeRng(mixSeed(f.seed, 0x5b17)), data.samples);
    const k = Math.max(1, Math.round(f.valSplit * order.length));
    if (k >= order.length) {
      throw new UsageError(`--val-split ${f.valSplit} leaves no training images`);
    }
    const pick = (s: typeof order) => ({ ...data, samples: s });
    return {
      data: pick(order.slice(k)),
      val: pick(order.slice(0, k)),
      note: `validation: ${k} of ${order.length} images held out (--val-split ${f.valSplit})`,
    };
  }
  if (set !== undefined && set !== "trainval") {
    const valSet = await findSet(f.data!, HELD_OUT_SETS);
    if (valSet !== undefined) {
      const val = await loadDataset(f.data!, { set: valSet, classes: data.classes });
      return { data, val, note: `validation ${withSet(f.data!, valSet)}` };
    }
  }
  return { data, note: "no validation set (give --val or --val-split)" };
}

/** `a, b, c` or, past 4 names, the first 3 and how many more. */
function listClasses(names: readonly string[]): string {
  const shown = names.length > 4 ? [...names.slice(0, 3), `… (${names.length})`] : names;
  return shown.join(", ");
}

/** The weights a new run starts from: `--init`, else a weights file given as `--model`. */
function startWeights(f: TrainFlags): string | undefined {
  return f.init ?? (/\.(safetensors|pth|pt)$/i.test(f.model!) ? f.model : undefined);
}

/** Builds the model to train: a fresh config for the dataset's classes, or the start weights. */
async function startModel(
  f: TrainFlags,
  data: Dataset,
): Promise<{ model: SsdModel; note: string }> {
  const cfg = await resolveConfig(f.model!, { arch: f.arch });
  const model = buildModel({ ...cfg, classes: [...data.classes] }, { seed: f.seed });
  const init = startWeights(f);
  if (init === undefined) return { model, note: `${cfg.name}: fresh weights (seed ${f.seed})` };
  try {
    const source = await loadModel(init, { arch: f.arch });
    if (source.config.arch !== cfg.arch) {
      source.dispose();
      throw new UsageError(
        `--init ${init} is a ${source.config.arch} network, --model ${f.model} a ${cfg.arch}`,
      );
    }
    const from = source.config.classes;
    const newHeads = !f.keepHeads && classesDiffer(from, data.classes);
    const r = loadInitWeights(model, source.stateDict(), {
      newHeads,
      classes: { from, to: data.classes },
    });
    source.dispose();
    const change = `classes ${listClasses(from)} → ${listClasses(data.classes)}`;
    const fresh = r.remapped?.fresh ?? [];
    const heads = r.remapped !== undefined
      ? `; classification heads kept for ${listClasses(r.remapped.kept)}${
        fresh.length > 0 ? `, new for ${listClasses(fresh)}` : ""
      }: ${change}`
      : r.reinitialized.length > 0
      ? `; ${r.reinitialized.length} classification-head tensors re-initialised: ${change}`
      : "";
    return { model, note: `${cfg.name}: starting from ${init} (${r.loaded} tensors${heads})` };
  } catch (err) {
    model.dispose();
    if (err instanceof RangeError) throw new FileError(init, err.message);
    throw err;
  }
}

/**
 * The engine of a run: as asked, or for `auto` (which `resolveEngine` turns into `tfjs` when a
 * `--backend` is given) `onnx` on a CPU when the model's ops all have onnxruntime gradients, as
 * `ssd detect` settles it; else `tfjs`.
 *
 * @throws {UsageError} for `--engine onnx` with a model it cannot train.
 */
function trainEngine(
  engine: "auto" | "tfjs" | "onnx",
  backend: TrainFlags["backend"],
  running: BackendInfo["name"],
  model: SsdModel,
): "tfjs" | "onnx" {
  const choice = resolveEngine(engine, backend);
  const gap = onnxTrainingGap(model.graph);
  if (choice === "onnx" && gap !== undefined) {
    throw new UsageError(`--engine onnx cannot train ${model.config.name}: ${gap}`);
  }
  if (choice === "auto") return running !== "webgpu" && gap === undefined ? "onnx" : "tfjs";
  return choice;
}

/** Runs `ssd train` with parsed flags; `given(name)` tells a flag typed on the command line. */
export async function runTrain(flags: TrainFlags, given: (name: string) => boolean): Promise<void> {
  let f = flags;
  let runDir: string;
  let resume;
  if (given("epochs") && given("iterations")) {
    throw new UsageError(
      "--epochs and --iterations do not go together (--iterations counts steps)",
    );
  }
  if (flags.resume !== undefined) {
    runDir = flags.resume.replace(/\/+$/, "");
    const typed = Object.keys(flags).filter((k) => given(k) && !RESUMABLE.has(k));
    if (typed.length > 0) {
      throw new UsageError(
        `--resume continues a run with its own settings; only --epochs, --iterations, --backend, --engine, ` +
          `--workers, --json and --quiet may be given (got --${typed.join(", --")})`,
      );
    }
    let saved: TrainFlags;
    try {
      saved = JSON.parse(await Deno.readTextFile(`${runDir}/args.json`));
    } catch (err) {
      throw new FileError(
        `${runDir}/args.json`,
        err instanceof Deno.errors.NotFound
          ? "not a training run (no args.json)"
          : "not valid JSON",
      );
    }
    f = {
      ...saved,
      resume: flags.resume,
      backend: flags.backend,
      engine: flags.engine,
      json: flags.json,
      quiet: flags.quiet,
    };
    if (given("workers")) f.workers = flags.workers;
    if (given("epochs")) [f.epochs, f.iterations] = [flags.epochs, undefined];
    if (given("iterations")) f.iterations = flags.iterations;
    resume = await readCheckpoint(`${runDir}/last.safetensors`);
  } else {
    if (f.model === undefined) throw new UsageError("--model is required (or --resume)");
    if (f.data === undefined) throw new UsageError("--data is required (or --resume)");
    if (f.val !== undefined && f.valSplit !== undefined) {
      throw new UsageError("--val and --val-split do not go together");
    }
    if (f.keepHeads && startWeights(f) === undefined) {
      throw new UsageError("--keep-heads needs weights to start from (--init)");
    }
    runDir = "";
  }
  const progress = new TrainProgress({ quiet: f.quiet ?? false, json: f.json ?? false });
  const { data, val, note } = await datasets(f);
  const info = await initBackend(f.backend, { gradients: true });
  let model: SsdModel;
  let startNote = "";
  if (resume) {
    model = buildModel(resume.config);
    try {
      model.loadStateDict(resume.stateDict);
    } catch (err) {
      model.dispose();
      throw new FileError(`${runDir}/last.safetensors`, (err as Error).message);
    }
  } else {
    const started = await startModel(f, data);
    model = started.model;
    startNote = started.note;
  }
  let engine: "tfjs" | "onnx";
  try {
    engine = trainEngine(f.engine ?? "auto", f.backend, info.name, model);
    if (data.samples.length < f.batch) {
      // Checked before a run folder is made; each step takes a full batch.
      throw new UsageError(
        `--batch ${f.batch} is more than the ${data.samples.length} training images of ` +
          `${f.data}; give --batch ${data.samples.length} or less`,
      );
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  progress.note(
    resume
      ? `resuming ${runDir} at step ${resume.state.step} (epoch ${resume.state.epoch + 1})`
      : startNote,
  );
  try {
    const { batchesPerEpoch } = runLength(data.samples.length, { ...f, batchSize: f.batch });
    const config: TrainConfig = {
      epochs: f.epochs,
      iterations: f.iterations,
      batchSize: f.batch,
      lr: f.lr,
      schedule: f.schedule,
      warmupSteps: f.warmup ?? Math.min(1000, batchesPerEpoch),
      momentum: f.momentum,
      weightDecay: f.weightDecay,
      seed: f.seed,
      workers: f.workers,
      augment: f.augment,
      valEvery: f.valEvery,
      frozen: f.freeze ? backbonePrefixes(model.config) : [],
      engine,
    };
    if (!resume) {
      runDir = await makeRunDir(`${f.project}/train`, f.name);
      await writeFileAtomic(
        `${runDir}/args.json`,
        JSON.stringify({ ...f, resume: undefined }, null, 2) + "\n",
      );
      if (f.valSplit !== undefined && val) {
        await writeFileAtomic(
          `${runDir}/val_ids.txt`,
          val.samples.map((s) => s.id).join("\n") + "\n",
        );
      }
    }
    const threads = config.engine === "onnx"
      ? " (network in onnxruntime)"
      : info.threads
      ? ` ×${info.threads}`
      : "";
    progress.note(
      `training ${model.config.name} (${model.config.classes.length} ` +
        `${model.config.classes.length === 1 ? "class" : "classes"}: ` +
        `${model.config.classes.slice(0, 6).join(", ")}${
          model.config.classes.length > 6 ? ", …" : ""
        }) ` +
        `on ${data.samples.length} images; ${note}; ${info.name}${threads}; run ${runDir}`,
    );
    const controller = new AbortController();
    let interrupts = 0;
    const onInterrupt = () => {
      if (++interrupts > 1) Deno.exit(130);
      progress.note("stopping after this step (Ctrl-C again to quit now)…");
      controller.abort();
    };
    Deno.addSignalListener("SIGINT", onInterrupt);
    const started = performance.now();
    let result;
    let lastValidation: { epoch: number; report: EvalReport } | undefined;
    try {
      result = await train({
        model,
        data,
        val,
        runDir,
        config,
        resume,
        signal: controller.signal,
        callbacks: {
          onStep: (s) => progress.step(s),
          onEpoch: (row) => progress.epoch(row),
          onValidationStart: (e, n) => progress.validationStart(e, n),
          onValidation: (epoch, r) => (lastValidation = { epoch, report: r.report }),
        },
      });
    } finally {
      Deno.removeSignalListener("SIGINT", onInterrupt);
      progress.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const bestRow = result.state.history.reduce<typeof result.state.history[0] | undefined>(
      (
        b,
        r,
      ) => (r.mapVoc !== undefined && (b === undefined || r.mapVoc > (b.mapVoc ?? -1)) ? r : b),
      undefined,
    );
    if (f.json) {
      console.log(JSON.stringify({
        type: "summary",
        run: runDir,
        steps: result.state.step,
        seconds: Number(seconds.toFixed(1)),
        stopped: result.stopped,
        last: result.last,
        best: result.best ?? null,
        bestEpoch: bestRow?.epoch ?? null,
        bestMapVoc07: bestRow?.mapVoc07 ?? null,
        bestMapVoc: bestRow?.mapVoc ?? null,
        validationEpoch: lastValidation?.epoch ?? null,
        validation: lastValidation ? evalReportJson(lastValidation.report) : null,
      }));
    } else {
      if (lastValidation) {
        // The last validation's table, per class, as `ssd eval` prints it.
        console.log(`epoch ${lastValidation.epoch}, ${note}:`);
        console.log(formatEvalTable(lastValidation.report));
      }
      const lines = [
        `${
          result.stopped ? "stopped" : "trained"
        } ${model.config.name}: ${result.state.step} steps ` +
        `in ${formatDuration(seconds)} (run ${runDir})`,
      ];
      if (bestRow) {
        lines.push(
          `best: epoch ${bestRow.epoch}, VOC07 mAP ${bestRow.mapVoc07?.toFixed(4)}, AP50 ` +
            `${bestRow.mapVoc?.toFixed(4)} → ${result.best}`,
        );
      }
      lines.push(`last: ${result.last}`);
      if (result.stopped) lines.push(`resume with: ssd train --resume ${runDir}`);
      console.log(lines.join("\n"));
    }
    if (result.stopped) Deno.exitCode = 130;
  } finally {
    model.dispose();
  }
}
