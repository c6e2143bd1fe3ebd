import assert from "node:assert/strict";
import {
  augmentSample,
  type AugSample,
  type BoxPx,
  hflip,
  randomIouCrop,
  zoomOut,
} from "../lib/data/augment.ts";
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  photometricDistort,
} from "../lib/data/photometric.ts";
import { makeRng, type Rng } from "../lib/data/rng.ts";
import type { RgbImage } from "../lib/data/types.ts";

/** An image whose pixel (x, y) is (x, y, 7): its pixels tell where they came from. */
function coordImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  }
  return { width, height, data };
}

function randomBoxes(rng: Rng, w: number, h: number, n: number): BoxPx[] {
  return Array.from({ length: n }, () => {
    const x1 = rng() * (w - 2), y1 = rng() * (h - 2);
    return [x1, y1, x1 + 1 + rng() * (w - x1 - 1), y1 + 1 + rng() * (h - y1 - 1)] as BoxPx;
  });
}

function assertBoxesValid(s: AugSample, what: string) {
  assert.equal(s.boxesPx.length, s.labels.length, what);
  assert.equal(s.image.data.length, s.image.width * s.image.height * 3, what);
  for (const [x1, y1, x2, y2] of s.boxesPx) {
    assert.ok(0 <= x1 && x1 < x2 && x2 <= s.image.width, `${what}: x ${x1} ${x2}`);
    assert.ok(0 <= y1 && y1 < y2 && y2 <= s.image.height, `${what}: y ${y1} ${y2}`);
  }
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/augment/photometric.json", import.meta.url)),
) as { input: number[]; cases: { op: string; factor: number; out: number[] }[] };

Deno.test("adjustContrast/Saturation/Hue() match torchvision 0.14 within 2e-6", () => {
  const rgb = new Float32Array(fixture.input.map((v) => v / 255));
  const ops: Record<string, (x: Float32Array, f: number) => Float32Array> = {
    contrast: adjustContrast,
    saturation: adjustSaturation,
    hue: adjustHue,
  };
  assert.equal(fixture.cases.length, 13);
  for (const c of fixture.cases) {
    const out = ops[c.op](rgb, c.factor);
    for (let i = 0; i < out.length; i++) {
      assert.ok(Math.abs(out[i] - c.out[i]) < 2e-6, `${c.op} ${c.factor} [${i}]`);
    }
  }
  assert.deepEqual(rgb, new Float32Array(fixture.input.map((v) => v / 255)), "input unchanged");
});

Deno.test("adjustBrightness() adds and clamps", () => {
  const out = adjustBrightness(new Float32Array([0, 0.5, 1, 0.9]), -0.125);
  assert.deepEqual([...out], [0, 0.375, 0.875, Math.fround(0.9) - 0.125].map(Math.fround));
});

Deno.test("photometricDistort() with p=0 is the identity; brightness alone shifts by ≤ 32", () => {
  const img = coordImage(40, 30);
  const k = (20 * 40 + 20) * 3;
  img.data.set([128, 128, 128], k); // away from the clamp: its shift is the drawn delta
  const deltas = new Set<number>();
  for (let seed = 0; seed < 20; seed++) {
    assert.deepEqual(photometricDistort(img, makeRng(seed), { p: 0 }), img);
    const out = photometricDistort(img, makeRng(seed), {
      p: 1,
      contrast: [1, 1],
      saturation: [1, 1],
      hueDegrees: 0,
    });
    const delta = out.data[k] - 128;
    assert.ok(Math.abs(delta) <= 32, `seed ${seed}: delta ${delta}`);
    deltas.add(delta);
    for (let i = 0; i < img.data.length; i++) {
      const expected = Math.min(255, Math.max(0, img.data[i] + delta));
      assert.ok(Math.abs(out.data[i] - expected) <= 1, `seed ${seed} [${i}]`);
    }
  }
  assert.ok(deltas.size > 10, `deltas ${[...deltas]}`);
});

Deno.test("hflip() twice is the identity, on images and boxes", () => {
  const rng = makeRng(5);
  for (let n = 0; n < 50; n++) {
    const w = 2 + Math.floor(rng() * 30), h = 1 + Math.floor(rng() * 30);
    const data = new Uint8Array(w * h * 3).map(() => Math.floor(rng() * 256));
    const intBoxes = randomBoxes(rng, w, h, 2).map((b) => b.map(Math.floor) as BoxPx)
      .filter(([x1, y1, x2, y2]) => x2 > x1 && y2 > y1);
    const s: AugSample = {
      image: { width: w, height: h, data },
      boxesPx: [...intBoxes, ...randomBoxes(rng, w, h, 3)],
      labels: [...intBoxes.map(() => 9), 1, 2, 3],
    };
    const once = hflip(s);
    assert.notDeepEqual(once.image.data, data);
    // By hand: x1' = W − x2, x2' = W − x1, y unchanged.
    intBoxes.forEach(([x1, y1, x2, y2], i) => {
      assert.deepEqual(once.boxesPx[i], [w - x2, y1, w - x1, y2]);
    });
    const twice = hflip(once);
    assert.deepEqual(twice.image, s.image);
    assert.deepEqual(twice.labels, s.labels);
    // Integer boxes come back exactly; float boxes within rounding of w − (w − x).
    twice.boxesPx.forEach((b, i) => {
      b.forEach((v, j) => {
        const tol = i < intBoxes.length ? 0 : 1e-12;
        assert.ok(Math.abs(v - s.boxesPx[i][j]) <= tol, `box ${i}: ${b} vs ${s.boxesPx[i]}`);
      });
    });
  }
});

Deno.test("zoomOut() keeps each box over the same pixels and fills the rest with the mean", () => {
  const img = coordImage(30, 20);
  const boxes: BoxPx[] = [[2, 3, 12, 9], [20, 10, 30, 20]];
  for (let seed = 0; seed < 30; seed++) {
    const out = zoomOut({ image: img, boxesPx: boxes, labels: [1, 2] }, makeRng(seed), {
      p: 1,
      mean: [200, 100, 50],
    });
    const { width: cw, height: ch, data } = out.image;
    assert.ok(cw >= 30 && cw <= 120 && ch >= 20 && ch <= 80, `${cw}x${ch}`);
    assert.ok(Math.abs(cw / 30 - ch / 20) < 0.1, "the same factor on both sides");
    const [[bx1, by1]] = out.boxesPx;
    const dx = bx1 - 2, dy = by1 - 3;
    assert.deepEqual(out.boxesPx, boxes.map(([a, b, c, d]) => [a + dx, b + dy, c + dx, d + dy]));
    let meanPixels = 0;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const px = [...data.subarray((y * cw + x) * 3, (y * cw + x) * 3 + 3)];
        const inImage = x >= dx && x < dx + 30 && y >= dy && y < dy + 20;
        assert.deepEqual(px, inImage ? [x - dx, y - dy, 7] : [200, 100, 50]);
        if (!inImage) meanPixels++;
      }
    }
    assert.equal(meanPixels, cw * ch - 600);
  }
  const same = { image: img, boxesPx: boxes, labels: [1, 2] };
  assert.equal(zoomOut(same, makeRng(1), { p: 0 }), same);
});

Deno.test("randomIouCrop() keeps exactly the boxes whose centre is inside, clipped", () => {
  const w = 200, h = 150;
  const img = coordImage(w, h);
  const rng = makeRng(77);
  let cropped = 0, whole = 0;
  for (let seed = 0; seed < 300; seed++) {
    const boxes = randomBoxes(rng, w, h, 1 + (seed % 5));
    const labels = boxes.map((_, i) => 10 + i);
    const out = randomIouCrop({ image: img, boxesPx: boxes, labels }, makeRng(seed));
    assertBoxesValid(out, `seed ${seed}`);
    if (out.image === img) {
      whole++;
      continue;
    }
    cropped++;
    const left = out.image.data[0], top = out.image.data[1];
    const pw = out.image.width, ph = out.image.height;
    // Patch sides in [0.1, 1] of the image, aspect in [1/2, 2].
    assert.ok(pw >= Math.floor(0.1 * w) && ph >= Math.floor(0.1 * h), `${pw}x${ph}`);
    assert.ok(pw / ph >= 0.5 && pw / ph <= 2, `aspect ${pw / ph}`);
    assert.deepEqual([...out.image.data.subarray((ph * pw - 1) * 3)], [
      left + pw - 1,
      top + ph - 1,
      7,
    ]);
    const expected = boxes.flatMap(([x1, y1, x2, y2], i) => {
      const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
      if (!(left < cx && cx < left + pw && top < cy && cy < top + ph)) return [];
      const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
      return [{
        label: labels[i],
        box: [clip(x1 - left, pw), clip(y1 - top, ph), clip(x2 - left, pw), clip(y2 - top, ph)],
      }];
    });
    assert.ok(expected.length > 0, "a crop keeps at least one box");
    assert.deepEqual(out.labels, expected.map((e) => e.label));
    assert.deepEqual(out.boxesPx, expected.map((e) => e.box));
  }
  // The whole image is one of 7 choices, chosen again when a constraint cannot be met.
  assert.ok(whole > 20 && cropped > 150, `whole ${whole}, cropped ${cropped}`);
  assert.equal(cropped + whole, 300);
});

Deno.test("randomIouCrop() meets a high minimum IoU often enough: the sampler's options", () => {
  // One box of the whole image: a patch's IoU with it is the patch's area fraction, so IoU ≥ 0.9
  // crops (area ≥ 0.9) must appear; a plain random patch would rarely be that large.
  const img = coordImage(100, 100);
  let large = 0;
  for (let seed = 0; seed < 700; seed++) {
    const out = randomIouCrop(
      { image: img, boxesPx: [[0, 0, 100, 100]], labels: [1] },
      makeRng(seed),
    );
    if (out.image !== img && out.image.width * out.image.height >= 9000) large++;
  }
  // A patch with sides uniform in [0.1, 1] has area ≥ 0.9 with probability 0.0064 (hand
  // integral), so random patches alone would give ≈ 4 of 700; options 0.9 (and the re-draws
  // after they fail) give many more.
  assert.ok(large > 20, `large crops ${large}`);
});

Deno.test("augmentSample() gives valid boxes inside the image over many seeds", () => {
  const rng = makeRng(3);
  for (let seed = 0; seed < 200; seed++) {
    const w = 20 + Math.floor(rng() * 60), h = 20 + Math.floor(rng() * 60);
    const img: RgbImage = {
      width: w,
      height: h,
      data: new Uint8Array(w * h * 3).map(() => Math.floor(rng() * 256)),
    };
    // Boxes partly outside the image are clipped first.
    const boxes = randomBoxes(rng, w + 10, h + 10, seed % 4).map((b) =>
      b.map((v) => v - 5) as BoxPx
    );
    const labels = boxes.map((_, i) => i + 1);
    const out = augmentSample(img, boxes, labels, makeRng(seed), { mean: [1, 2, 3] });
    assertBoxesValid(out, `seed ${seed}`);
    assert.ok(out.labels.every((l) => labels.includes(l)));
  }
});

Deno.test("augmentSample() works on images without boxes", () => {
  const img = coordImage(50, 40);
  let changed = 0;
  for (let seed = 0; seed < 50; seed++) {
    const out = augmentSample(img, [], [], makeRng(seed));
    assertBoxesValid(out, `seed ${seed}`);
    assert.equal(out.boxesPx.length, 0);
    if (out.image.width !== 50 || out.image.height !== 40) changed++;
  }
  assert.ok(changed > 10, `geometry changed in ${changed} of 50`);
});

Deno.test("augmentSample() is deterministic per seed and leaves its inputs alone", () => {
  const img = coordImage(64, 48);
  const copy = { ...img, data: img.data.slice() };
  const boxes: BoxPx[] = [[4, 4, 30, 30], [30, 20, 60, 46]];
  const outputs = Array.from(
    { length: 5 },
    (_, s) => augmentSample(img, boxes, [1, 2], makeRng(s)),
  );
  for (let s = 0; s < 5; s++) {
    assert.deepEqual(augmentSample(img, boxes, [1, 2], makeRng(s)), outputs[s]);
  }
  assert.notDeepEqual(outputs[0], outputs[1]);
  assert.deepEqual(img, copy);
  assert.deepEqual(boxes, [[4, 4, 30, 30], [30, 20, 60, 46]]);
});

Deno.test("augmentSample() with every step off returns the clipped input", () => {
  const img = coordImage(10, 10);
  const off = { photometric: false, zoomOut: 1, crop: false, flip: false };
  const out = augmentSample(img, [[-3, 2, 5, 12]], [4], makeRng(0), off);
  assert.deepEqual(out, { image: img, boxesPx: [[0, 2, 5, 10]], labels: [4] });
  assert.deepEqual(augmentSample(img, [[11, 0, 15, 5]], [4], makeRng(0), off).boxesPx, []);
});

Deno.test("augmentSample() rejects degenerate boxes and mismatched labels", () => {
  const img = coordImage(10, 10);
  assert.throws(
    () => augmentSample(img, [[5, 1, 5, 4]], [1], makeRng(0)),
    /box 0 must have x1 < x2/,
  );
  assert.throws(() => augmentSample(img, [[1, 1, NaN, 4]], [1], makeRng(0)), RangeError);
  assert.throws(() => augmentSample(img, [[1, 1, 4, 4]], [], makeRng(0)), /same length/);
  assert.throws(
    () => augmentSample({ width: 3, height: 3, data: new Uint8Array(5) }, [], [], makeRng(0)),
    TypeError,
  );
});
