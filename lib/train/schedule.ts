/**
 * Learning-rate schedules, per step: a linear warmup (torchvision's detection reference:
 * factor 0.001 → 1 over the first iterations) times a main schedule, either multistep (the
 * SSD paper: ×0.1 at each milestone) or cosine annealing to zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { learningRate } from "./schedule.ts";
 * const s = { baseLr: 0.01, totalSteps: 100, warmupSteps: 10, schedule: "multistep" as const, milestones: [50, 80] };
 * assert.ok(Math.abs(learningRate(0, s) - 0.01 * 0.001) < 1e-12);
 * assert.equal(learningRate(10, s), 0.01);
 * assert.ok(Math.abs(learningRate(60, s) - 0.001) < 1e-12);
 * assert.ok(Math.abs(learningRate(90, { ...s, schedule: "cosine" }) - 0.01 * 0.5 * (1 + Math.cos(Math.PI * 0.9))) < 1e-12);
 * ```
 *
 * @module
 */

/** Main schedule kinds. */
export type ScheduleKind = "multistep" | "cosine" | "constant";

/** A learning-rate schedule over `totalSteps` optimizer steps. */
export interface Schedule {
  baseLr: number;
  totalSteps: number;
  schedule: ScheduleKind;
  /** Linear warmup steps. Default 0. */
  warmupSteps?: number;
  /** Factor at step 0 of the warmup. Default 0.001 (torchvision reference `warmup_factor`). */
  warmupFactor?: number;
  /** multistep: steps at which the rate is multiplied by `gamma`. */
  milestones?: number[];
  /** multistep factor. Default 0.1 (SSD paper: 1e-3 → 1e-4 → 1e-5). */
  gamma?: number;
}

/** The learning rate of 0-based optimizer step `step`. */
export function learningRate(step: number, s: Schedule): number {
  const warmupSteps = s.warmupSteps ?? 0;
  let warm = 1;
  if (step < warmupSteps) {
    const f = s.warmupFactor ?? 0.001;
    const alpha = step / warmupSteps;
    warm = f * (1 - alpha) + alpha;
  }
  let main = 1;
  if (s.schedule === "multistep") {
    const passed = (s.milestones ?? []).filter((m) => step >= m).length;
    main = (s.gamma ?? 0.1) ** passed;
  } else if (s.schedule === "cosine") {
    const t = Math.min(1, step / Math.max(1, s.totalSteps));
    main = 0.5 * (1 + Math.cos(Math.PI * t));
  }
  return s.baseLr * warm * main;
}
