import assert from "node:assert/strict";
import { join } from "node:path";
import { readImage, writeImage } from "../lib/data/image_codec.ts";
import type { RgbImage } from "../lib/data/types.ts";
import { drawBatchMosaic, drawDetectionsOnSample } from "../lib/train/pictures.ts";
import { type CurveRow, drawCurves } from "../lib/train/curves.ts";

const MEAN = [123, 117, 104], STD = [58, 57, 57];
const ORANGE = [255, 127, 14]; // Tableau 10, second colour: class index 1
const BLUE = [31, 119, 180]; // first colour: class index 0

function pixel(img: RgbImage, x: number, y: number): number[] {
  const i = 3 * (y * img.width + x);
  return [...img.data.subarray(i, i + 3)];
}

/** A 40×40 image of one colour, normalized as the loader does: `(px − mean) / std`. */
function normalizedFill(rgb: number[]): Float32Array {
  const x = new Float32Array(40 * 40 * 3);
  for (let i = 0; i < x.length; i++) x[i] = (rgb[i % 3] - MEAN[i % 3]) / STD[i % 3];
  return x;
}

Deno.test("drawBatchMosaic() de-normalizes each image, frames its boxes and lays out a grid", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const images = new Float32Array(3 * 40 * 40 * 3);
    images.set(normalizedFill([200, 30, 90]), 0);
    images.set(normalizedFill([10, 250, 128]), 40 * 40 * 3);
    images.fill(1e3, 2 * 40 * 40 * 3); // far above 255 once de-normalized: clamped to white
    const path = join(dir, "batch.png");
    await drawBatchMosaic({
      images,
      size: [40, 40],
      boxes: [new Float32Array([0.25, 0.25, 0.75, 0.75]), new Float32Array(0), new Float32Array(0)],
      labels: [new Int32Array([2]), new Int32Array(0), new Int32Array(0)],
      ids: ["a", "b", "c"],
    }, { mean: MEAN, std: STD, classes: ["circle", "square"], path });
    const out = await readImage(path);
    // 40 px tiles enlarged 8× to 320; 2 columns (ceil √3), 2 rows; 8 px gaps, 20 px captions.
    assert.equal(out.width, 8 + 2 * (320 + 8));
    assert.equal(out.height, 8 + 2 * (320 + 20 + 8));
    assert.deepEqual(pixel(out, 8 + 5, 8 + 300), [200, 30, 90]); // tile a, away from its box
    assert.deepEqual(pixel(out, 8 + 328 + 160, 8 + 160), [10, 250, 128]); // tile b
    assert.deepEqual(pixel(out, 8 + 160, 8 + 348 + 160), [255, 255, 255]); // tile c, clamped
    // Box [0.25, 0.75] of a 320 px tile: its left edge at x = 80, in the colour of label 2.
    assert.deepEqual(pixel(out, 8 + 80, 8 + 200), ORANGE);
    assert.deepEqual(pixel(out, 8 + 160, 8 + 160), [200, 30, 90]); // inside the box: untouched
    assert.deepEqual(pixel(out, 4, 4), [255, 255, 255]); // the gap
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("drawBatchMosaic() refuses a batch whose arrays disagree or a label without a name", async () => {
  const batch = {
    images: new Float32Array(40 * 40 * 3),
    size: [40, 40] as [number, number],
    boxes: [new Float32Array([0, 0, 1, 1])],
    labels: [new Int32Array([3])],
    ids: ["a"],
  };
  const opts = { mean: MEAN, std: STD, classes: ["circle", "square"], path: "/nonexistent/x.png" };
  await assert.rejects(() => drawBatchMosaic(batch, opts), /label 3 of image a is not in 1…2/);
  await assert.rejects(
    () => drawBatchMosaic({ ...batch, ids: ["a", "b"] }, opts),
    /images must hold B·H·W·3 = 2·40·40·3 values, got 4800/,
  );
  await assert.rejects(
    () => drawBatchMosaic({ ...batch, labels: [new Int32Array([1, 2])] }, opts),
    /image a has 1 boxes and 2 labels/,
  );
});

Deno.test("drawDetectionsOnSample() draws detections above minScore, enlarged like the mosaic", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const imagePath = join(dir, "img.png");
    await writeImage(imagePath, { width: 100, height: 80, data: new Uint8Array(100 * 80 * 3) });
    const path = join(dir, "drawn.png");
    await drawDetectionsOnSample(imagePath, [
      { bboxPx: [10, 40, 50, 70], score: 0.9, className: "circle" },
      { bboxPx: [60, 10, 90, 30], score: 0.2, className: "square" },
    ], { path, classes: ["circle", "square"] });
    const out = await readImage(path);
    assert.equal(out.width, 400); // 80 px high: enlarged 4× to reach 320
    assert.equal(out.height, 320);
    assert.deepEqual(pixel(out, 40, 200), BLUE); // left edge of the 0.9 circle, x = 10·4
    assert.deepEqual(pixel(out, 240, 80), [0, 0, 0]); // the 0.2 square (below 0.3) is not drawn
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Rows of a short run: the loss falls, lr warms up, mAP on the epochs' last steps. */
function rows(n: number, withMap: boolean): CurveRow[] {
  return Array.from({ length: n }, (_, i) => ({
    epoch: Math.floor(i / 10) + 1,
    step: i + 1,
    loss: 10 / (i + 1) + 2,
    locLoss: 1,
    clsLoss: 10 / (i + 1) + 1,
    lr: Math.min(1, (i + 1) / 5) * 1e-3,
    ...(withMap && i % 10 === 9 ? { mAP: 0.05 * (i + 1) / 10 } : {}),
  }));
}

Deno.test("drawCurves() draws loss, mAP (when there is one) and lr panels side by side", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [withMap, panels] of [[true, 3], [false, 2]] as const) {
      const path = join(dir, `curves_${withMap}.png`);
      await drawCurves(rows(30, withMap), path);
      const out = await readImage(path);
      assert.equal(out.width, 600 * panels);
      assert.equal(out.height, 460);
      // The loss curve (the palette's first colour) is in the loss panel.
      let blue = 0;
      for (let y = 0; y < out.height; y++) {
        for (let x = 0; x < 600; x++) if (pixel(out, x, y).join() === BLUE.join()) blue++;
      }
      assert.ok(blue > 100, `${blue} loss-curve pixels`);
    }
    await assert.rejects(() => drawCurves([], join(dir, "none.png")), /no rows/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
