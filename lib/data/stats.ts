/**
 * Dataset statistics behind `ssd data stats`: images, instances per class, and histograms of
 * box size and aspect ratio — what one needs to choose SSD's prior scales and aspect ratios.
 *
 * @module
 */
import type { Dataset } from "./types.ts";

/** One histogram: `counts[i]` boxes fell in `[edges[i], edges[i + 1])`. */
export interface Histogram {
  /** Bin edges, ascending; one more than `counts`. */
  edges: number[];
  /** Boxes per bin. */
  counts: number[];
}

/** What {@link datasetStats} computes. */
export interface DatasetStats {
  /** Number of images. */
  images: number;
  /** Number of ground-truth objects over all images. */
  objects: number;
  /** Images without objects. */
  emptyImages: number;
  /** Per class: instances, images containing it, and how many are difficult/crowd. */
  classes: { name: string; instances: number; images: number; difficult: number }[];
  /** Box size relative to its image, `sqrt(w·h / (W·H))` (the scale of SSD's priors). */
  relativeSize: Histogram;
  /** Box area in pixels by COCO's ranges: small < 32², medium < 96², large. */
  areaRanges: { small: number; medium: number; large: number };
  /** Box aspect ratio `w / h`. */
  aspectRatio: Histogram;
  /** Smallest and largest image sizes as `[width, height]` (by area); null when unknown. */
  imageSize: { min: [number, number]; max: [number, number] } | null;
}

/** Relative-size bin edges: SSD300's prior scales sit at 0.1, 0.2, 0.375, 0.55, 0.725, 0.9. */
export const SIZE_EDGES = [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9, Infinity];
/** Aspect-ratio bin edges around SSD's {1/3, 1/2, 1, 2, 3}. */
export const ASPECT_EDGES = [0, 1 / 4, 0.4, 0.7, 1 / 1.2, 1.2, 1 / 0.7, 2.5, 4, Infinity];

function histogram(values: number[], edges: number[]): Histogram {
  const counts = new Array(edges.length - 1).fill(0);
  for (const v of values) {
    const i = edges.findIndex((e, k) => k < edges.length - 1 && v >= e && v < edges[k + 1]);
    if (i >= 0) counts[i]++;
  }
  return { edges, counts };
}

/**
 * Counts a dataset's images, instances per class and box-size/aspect histograms. Boxes of
 * images whose size is unknown (0) count in every figure except the relative size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetStats } from "./stats.ts";
 * const stats = datasetStats({ format: "voc", root: "r", classes: ["cat", "dog"], samples: [
 *   { id: "a", imagePath: "a.jpg", width: 100, height: 100, objects: [
 *     { bboxPx: [0, 0, 10, 10], classIndex: 0, difficult: false },
 *     { bboxPx: [0, 0, 50, 100], classIndex: 0, difficult: true },
 *   ] },
 *   { id: "b", imagePath: "b.jpg", width: 100, height: 50, objects: [] },
 * ] });
 * assert.deepEqual(stats.classes, [
 *   { name: "cat", instances: 2, images: 1, difficult: 1 },
 *   { name: "dog", instances: 0, images: 0, difficult: 0 },
 * ]);
 * assert.equal(stats.emptyImages, 1);
 * assert.deepEqual(stats.areaRanges, { small: 1, medium: 1, large: 0 });
 * assert.equal(stats.relativeSize.counts[2], 1); // 0.1 ≤ sqrt(100 / 10000) < 0.2
 * ```
 */
export function datasetStats(dataset: Dataset): DatasetStats {
  const classes = dataset.classes.map((name) => ({ name, instances: 0, images: 0, difficult: 0 }));
  const rel: number[] = [], aspect: number[] = [];
  const areaRanges = { small: 0, medium: 0, large: 0 };
  let objects = 0, emptyImages = 0;
  let min: [number, number] | null = null, max: [number, number] | null = null;
  for (const s of dataset.samples) {
    if (s.objects.length === 0) emptyImages++;
    if (s.width > 0 && s.height > 0) {
      if (min === null || s.width * s.height < min[0] * min[1]) min = [s.width, s.height];
      if (max === null || s.width * s.height > max[0] * max[1]) max = [s.width, s.height];
    }
    const seen = new Set<number>();
    for (const o of s.objects) {
      objects++;
      const c = classes[o.classIndex];
      if (c !== undefined) {
        c.instances++;
        if (o.difficult) c.difficult++;
        if (!seen.has(o.classIndex)) c.images++;
        seen.add(o.classIndex);
      }
      const w = Math.abs(o.bboxPx[2] - o.bboxPx[0]), h = Math.abs(o.bboxPx[3] - o.bboxPx[1]);
      const area = w * h;
      if (area < 32 * 32) areaRanges.small++;
      else if (area < 96 * 96) areaRanges.medium++;
      else areaRanges.large++;
      if (h > 0) aspect.push(w / h);
      if (s.width > 0 && s.height > 0) rel.push(Math.sqrt(area / (s.width * s.height)));
    }
  }
  return {
    images: dataset.samples.length,
    objects,
    emptyImages,
    classes,
    relativeSize: histogram(rel, SIZE_EDGES),
    areaRanges,
    aspectRatio: histogram(aspect, ASPECT_EDGES),
    imageSize: min === null || max === null ? null : { min, max },
  };
}
