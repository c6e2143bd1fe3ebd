/**
 * Drawing for the synthetic detection dataset: textured backgrounds and the four shape classes
 * of `SYNTH_CLASSES` (circle, square, triangle, cross), rasterised without anti-aliasing (a
 * pixel belongs to a shape when its centre does). Circles and squares take the shape's aspect
 * ratio, so they are ellipses and rectangles in general; triangles point up or down.
 *
 * @module
 */
import { type Rng, uniform } from "./rng.ts";

/** One shape to draw, in pixels of the canvas. */
export interface SynthShape {
  /** 0 circle, 1 square, 2 triangle, 3 cross (index into `SYNTH_CLASSES`). */
  classIndex: number;
  cx: number;
  cy: number;
  /** Full width and height of the shape's extent. */
  w: number;
  h: number;
  /** Fill colour, RGB 0–255. */
  color: [number, number, number];
  /** Triangles: point down instead of up. Crosses: arm thickness in (0, 1) of the half-side. */
  variant: number;
}

/** The background kinds {@link drawBackground} chooses from. */
export const BACKGROUND_KINDS = ["noise", "gradient", "stripes", "checker"] as const;

function randomColor(rng: Rng, lo = 0, hi = 255): [number, number, number] {
  return [uniform(rng, lo, hi), uniform(rng, lo, hi), uniform(rng, lo, hi)];
}

/**
 * A random textured background of `size × size` RGB (HWC u8): smooth value noise, a linear
 * gradient, stripes at a random angle or a checkerboard, each with pixel noise on top.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { drawBackground } from "./synth_draw.ts";
 * import { makeRng } from "./rng.ts";
 * const bg = drawBackground(32, makeRng(1));
 * assert.equal(bg.length, 32 * 32 * 3);
 * assert.deepEqual(bg, drawBackground(32, makeRng(1)));
 * ```
 */
export function drawBackground(size: number, rng: Rng): Uint8Array {
  const kind = BACKGROUND_KINDS[Math.floor(rng() * BACKGROUND_KINDS.length)];
  const a = randomColor(rng), b = randomColor(rng);
  const angle = uniform(rng, 0, Math.PI), period = uniform(rng, 6, size / 3);
  const dx = Math.cos(angle), dy = Math.sin(angle);
  const noiseAmp = uniform(rng, 4, 24);
  // Value noise: a coarse random grid, bilinearly interpolated.
  const cells = 2 + Math.floor(rng() * 6);
  const grid = Float32Array.from({ length: (cells + 1) * (cells + 1) }, () => rng());
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let t: number;
      if (kind === "gradient") t = ((x - size / 2) * dx + (y - size / 2) * dy) / size + 0.5;
      else if (kind === "stripes") t = Math.sin(((x * dx + y * dy) / period) * Math.PI) > 0 ? 1 : 0;
      else if (kind === "checker") {
        t = (Math.floor(x / period) + Math.floor(y / period)) % 2;
      } else {
        const gx = (x / size) * cells, gy = (y / size) * cells;
        const i = Math.floor(gx), j = Math.floor(gy), fx = gx - i, fy = gy - j;
        const g = (u: number, v: number) => grid[v * (cells + 1) + u];
        t = (1 - fy) * ((1 - fx) * g(i, j) + fx * g(i + 1, j)) +
          fy * ((1 - fx) * g(i, j + 1) + fx * g(i + 1, j + 1));
      }
      t = Math.min(1, Math.max(0, t));
      const k = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = a[c] * (1 - t) + b[c] * t + noiseAmp * (2 * rng() - 1);
        out[k + c] = Math.round(Math.min(255, Math.max(0, v)));
      }
    }
  }
  return out;
}

/**
 * Whether the point `(px, py)` (pixels) is inside the shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shapeContains } from "./synth_draw.ts";
 * const circle = { classIndex: 0, cx: 10, cy: 10, w: 8, h: 8, color: [0, 0, 0] as [number, number, number], variant: 0 };
 * assert.ok(shapeContains(circle, 10, 13.9));
 * assert.ok(!shapeContains(circle, 13.5, 13.5)); // inside the box, outside the circle
 * ```
 */
export function shapeContains(s: SynthShape, px: number, py: number): boolean {
  const u = (px - s.cx) / (s.w / 2), v = (py - s.cy) / (s.h / 2);
  if (Math.abs(u) > 1 || Math.abs(v) > 1) return false;
  switch (s.classIndex) {
    case 0:
      return u * u + v * v <= 1;
    case 1:
      return true;
    case 2: {
      const down = s.variant >= 0.5 ? -v : v; // apex at v = -1 (up) or +1 (down)
      return Math.abs(u) <= (down + 1) / 2;
    }
    default:
      return Math.abs(u) <= s.variant || Math.abs(v) <= s.variant;
  }
}

/**
 * The pixels a shape covers within a `size × size` canvas (indices `y·size + x`), the
 * number it would cover on an unbounded canvas, and the tight pixel box of the covered
 * in-canvas pixels `[x1, y1, x2, y2]` (0-based, exclusive ends), or `null` when none is inside.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rasterizeShape } from "./synth_draw.ts";
 * const sq = { classIndex: 1, cx: 0, cy: 5, w: 4, h: 2, color: [0, 0, 0] as [number, number, number], variant: 0 };
 * const r = rasterizeShape(sq, 10);
 * assert.equal(r.total, 8); // 4 × 2 pixels, half of them left of the canvas
 * assert.equal(r.pixels.length, 4);
 * assert.deepEqual(r.boxPx, [0, 4, 2, 6]);
 * ```
 */
export function rasterizeShape(
  s: SynthShape,
  size: number,
): { pixels: number[]; total: number; boxPx: [number, number, number, number] | null } {
  const x0 = Math.floor(s.cx - s.w / 2), x1 = Math.ceil(s.cx + s.w / 2);
  const y0 = Math.floor(s.cy - s.h / 2), y1 = Math.ceil(s.cy + s.h / 2);
  const pixels: number[] = [];
  let total = 0;
  let bx1 = Infinity, by1 = Infinity, bx2 = -Infinity, by2 = -Infinity;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (!shapeContains(s, x + 0.5, y + 0.5)) continue;
      total++;
      if (x < 0 || y < 0 || x >= size || y >= size) continue;
      pixels.push(y * size + x);
      bx1 = Math.min(bx1, x);
      by1 = Math.min(by1, y);
      bx2 = Math.max(bx2, x + 1);
      by2 = Math.max(by2, y + 1);
    }
  }
  return { pixels, total, boxPx: pixels.length > 0 ? [bx1, by1, bx2, by2] : null };
}

/**
 * Paint a shape's pixels (from {@link rasterizeShape}) onto an RGB canvas in place, with a
 * light vertical shading (×1.15 at the top to ×0.85 at the bottom) and pixel noise (±10) so
 * that the fill is not flat.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paintShape } from "./synth_draw.ts";
 * import { makeRng } from "./rng.ts";
 * const canvas = new Uint8Array(4 * 4 * 3);
 * const s = { classIndex: 1, cx: 2, cy: 2, w: 4, h: 4, color: [100, 100, 100] as [number, number, number], variant: 0 };
 * paintShape(canvas, { s, pixels: [5], size: 4 }, makeRng(0));
 * assert.ok(canvas[15] >= 80 && canvas[15] <= 125);
 * assert.equal(canvas[0], 0);
 * ```
 */
export function paintShape(
  canvas: Uint8Array,
  shape: { s: SynthShape; pixels: number[]; size: number },
  rng: Rng,
): void {
  const { s, pixels, size } = shape;
  for (const p of pixels) {
    const y = Math.floor(p / size);
    const shade = 1.15 - 0.3 * Math.min(1, Math.max(0, (y - (s.cy - s.h / 2)) / s.h));
    for (let c = 0; c < 3; c++) {
      const v = s.color[c] * shade + 10 * (2 * rng() - 1);
      canvas[p * 3 + c] = Math.round(Math.min(255, Math.max(0, v)));
    }
  }
}
