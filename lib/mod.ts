/**
 * ssd: the Single Shot MultiBox Detector (Liu et al., ECCV 2016) as a TypeScript library.
 *
 * Boxes inside the library are normalized `[0, 1]` corner form `xyxy`; priors are center form
 * `cxcywh`. Class index 0 is background.
 *
 * The small API: `loadDetector(model)` → `detector.detect(image, opts)` → `detector.dispose()`.
 * `loadDetector` starts the default backend (`initBackend("auto")`) only when none is set;
 * choose one first with `initBackend` to get another.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend, loadDetector, readImage } from "./mod.ts";
 * await initBackend("wasm");
 * const detector = await loadDetector("face-slim-320");
 * const faces = await detector.detect(await readImage(new URL("../samples/faces.jpg", import.meta.url).pathname));
 * assert.equal(faces.length, 8);
 * detector.dispose();
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./classes.ts";
export * from "./config.ts";
export * from "./priors.ts";
export * from "./boxes.ts";
export * from "./match.ts";
export * from "./loss.ts";
export * from "./nms.ts";
export * from "./detector.ts";
export * from "./model/mod.ts";
export * from "./io/mod.ts";
export * from "./engine/mod.ts";
export * from "./eval/mod.ts";
export { evaluateDataset } from "./eval/dataset_eval.ts";
export * from "./eval/detect_dataset.ts";
export type * from "./data/types.ts";
export * from "./data/image.ts";
export { loadDataset, readDataset } from "./data/dataset.ts";
export { checkDataset } from "./data/check.ts";
export { datasetStats } from "./data/stats.ts";
export { writeSynthDataset } from "./data/synth.ts";
export { augmentSample } from "./data/augment.ts";
export { createLoader } from "./data/loader.ts";
export { makeRng } from "./data/rng.ts";
export { expandInputs } from "./data/inputs.ts";
export * from "./data/box_px.ts";
export { normalizeRgb } from "./data/normalize.ts";
export { parseVocXml, readVocImageSet } from "./data/voc.ts";
export { readCocoInstances, readCocoResults } from "./data/coco.ts";
export { DivergedError, runLength, train } from "./train/loop.ts";
export type { StepInfo, TrainCallbacks, TrainConfig, TrainResult, TrainRun } from "./train/loop.ts";
export { trainStep } from "./train/step.ts";
export type { StepBatch, StepContext, StepResult } from "./train/step.ts";
export { Sgd } from "./train/sgd.ts";
export { readCheckpoint, saveCheckpoint } from "./train/checkpoint.ts";
export type { Checkpoint, MetricRow, TrainState } from "./train/checkpoint.ts";
export { learningRate } from "./train/schedule.ts";
export type { Schedule, ScheduleKind } from "./train/schedule.ts";
