/**
 * The data types shared by readers, augmentation, the loader, detection and drawing, and the
 * option and result types of the data functions that `lib/mod.ts` exports (re-exported here so
 * that the package's documentation shows them).
 *
 * @module
 */
export type { AugmentOptions, AugSample, BoxPx } from "./augment.ts";
export type { CheckOptions, CheckReport } from "./check.ts";
export type { CocoAnnotation, CocoCategory, CocoImage, CocoInstances, CocoResult } from "./coco.ts";
export type { DatasetOptions, DatasetReadResult } from "./dataset.ts";
export type { ExpandedInputs } from "./inputs.ts";
export type { Batch, DataLoader, LoaderOptions } from "./loader.ts";
export type { DatasetProblem, Severity } from "./problems.ts";
export type { Rng } from "./rng.ts";
export type { DatasetStats, Histogram } from "./stats.ts";
export type { SynthOptions } from "./synth.ts";
export type { VocAnnotation, VocObject } from "./voc.ts";

/** An 8-bit RGB image, row-major HWC (`data.length === width * height * 3`). */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `[height, width, 3]` row-major RGB bytes. */
  data: Uint8Array;
}

/** One ground-truth object, in pixels of its image (0-based, continuous `xyxy`). */
export interface GtObject {
  /** `[x1, y1, x2, y2]` in pixels; VOC's 1-based inclusive boxes become `[xmin-1, ymin-1, xmax, ymax]`. */
  bboxPx: [number, number, number, number];
  /** Index into the dataset's `classes` (0-based; the model's label is `classIndex + 1`). */
  classIndex: number;
  /** VOC `difficult` or COCO `iscrowd`: neither a positive nor a false positive in eval. */
  difficult: boolean;
}

/** One image of a dataset with its annotations. */
export interface Sample {
  /** A stable id: the VOC file stem, the COCO image id as text, the YOLO file stem. */
  id: string;
  /** Path of the image file. */
  imagePath: string;
  /** Width in pixels as the annotation states it (0 when it does not). */
  width: number;
  /** Height in pixels as the annotation states it (0 when it does not). */
  height: number;
  /** The ground-truth objects; empty for an image without any. */
  objects: GtObject[];
}

/** A detection dataset read from disk. */
export interface Dataset {
  /** The on-disk format it was read from. */
  format: "voc" | "coco" | "yolo";
  /** Where it was read from. */
  root: string;
  /** Class names without background. */
  classes: string[];
  /** The images with their annotations. */
  samples: Sample[];
}
