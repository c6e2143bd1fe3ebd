/**
 * Compares our detections with the UltraFace reference's (`<model>_detections.json`): the same
 * count, and each reference detection paired with one of ours, boxes within `boxTolPx` pixels
 * and scores within `scoreTol`. Shared by `tests/detect_ultraface_test.ts` and
 * `scripts/check_ultraface_detect.ts`.
 */
import type { Detection } from "../lib/detector.ts";

/** One detection of the reference file. */
export interface ReferenceDetection {
  box: [number, number, number, number];
  score: number;
  box_norm: [number, number, number, number];
  score_exact: number;
}

/** The reference file of one image and model. */
export interface ReferenceFile {
  image: string;
  width: number;
  height: number;
  thresholds: Record<string, { count: number; detections: ReferenceDetection[] }>;
}

/** How far one image's detections are from the reference. */
export interface Comparison {
  countOurs: number;
  countReference: number;
  /** Largest |Δ| of a box coordinate in pixels over the paired detections. */
  maxBoxPx: number;
  /** Largest |Δ| of a score over the paired detections. */
  maxScore: number;
  /** Reference detections with no partner within tolerance. */
  unpaired: number;
}

/**
 * Pairs each reference detection with the closest unpaired one of ours (largest coordinate
 * difference, in pixels of the original image) and measures the differences.
 */
export function compareWithReference(
  ours: Detection[],
  reference: ReferenceDetection[],
  size: { width: number; height: number },
  tol = { boxPx: 1, score: 1e-3 },
): Comparison {
  const used = new Set<number>();
  let maxBoxPx = 0, maxScore = 0, unpaired = 0;
  for (const ref of reference) {
    // The exact normalized box, scaled as the reference does (float32 · size).
    const refPx = ref.box_norm.map((v, k) => Math.fround(v) * (k % 2 ? size.height : size.width));
    let best = -1, bestDiff = Infinity;
    ours.forEach((d, i) => {
      if (used.has(i)) return;
      const diff = Math.max(...d.bbox.map((v, k) => Math.abs(v - refPx[k])));
      if (diff < bestDiff) best = i, bestDiff = diff;
    });
    if (best < 0 || bestDiff > tol.boxPx) {
      unpaired++;
      continue;
    }
    used.add(best);
    maxBoxPx = Math.max(maxBoxPx, bestDiff);
    const ds = Math.abs(ours[best].score - ref.score_exact);
    maxScore = Math.max(maxScore, ds);
    if (ds > tol.score) unpaired++;
  }
  return {
    countOurs: ours.length,
    countReference: reference.length,
    maxBoxPx,
    maxScore,
    unpaired,
  };
}
