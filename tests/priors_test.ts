import assert from "node:assert/strict";
import { getConfig } from "../lib/config.ts";
import { generatePriors, priorLayerCounts, priorsHash } from "../lib/priors.ts";

const TV = new URL("../fixtures/torchvision/", import.meta.url);
const UF = new URL("../fixtures/ultraface/", import.meta.url);

function readF32(url: URL): Float32Array {
  const bytes = Deno.readFileSync(url);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, "lengths differ");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("generatePriors() equals torchvision ssd300_vgg16 DefaultBoxGenerator within 1e-6", () => {
  const expected = readF32(new URL("priors_ssd300_coco.bin", TV));
  const priors = generatePriors(getConfig("ssd300-coco"));
  assert.equal(priors.length, 8732 * 4);
  assert.ok(maxAbsDiff(priors, expected) <= 1e-6);
});

Deno.test("generatePriors() equals torchvision ssdlite320 DefaultBoxGenerator within 1e-6", () => {
  const expected = readF32(new URL("priors_ssdlite320.bin", TV));
  const priors = generatePriors(getConfig("ssdlite320"));
  assert.equal(priors.length, 3234 * 4);
  assert.ok(maxAbsDiff(priors, expected) <= 1e-6);
});

Deno.test("generatePriors() reproduces UltraFace's generate_priors bit for bit", () => {
  const expected = readF32(new URL("priors_cxcywh.bin", UF));
  for (const name of ["face-slim-320", "face-rfb-320"]) {
    const priors = generatePriors(getConfig(name));
    assert.equal(maxAbsDiff(priors, expected), 0, name);
  }
});

Deno.test("generatePriors() gives the Caffe SSD300 boxes: steps, sizes, no clipping", () => {
  const priors = generatePriors(getConfig("ssd300"));
  const row = (i: number) => Array.from(priors.subarray(4 * i, 4 * i + 4));
  const close = (got: number[], want: number[]) =>
    got.forEach((v, k) => assert.ok(Math.abs(v - want[k]) <= 1e-6, `${got} vs ${want}`));
  // Hand computation from the released prototxt: min 30 / max 60 px, step 8, ratio 2.
  const c0 = 0.5 * 8 / 300;
  close(row(0), [c0, c0, 30 / 300, 30 / 300]);
  close(row(1), [c0, c0, Math.sqrt(30 * 60) / 300, Math.sqrt(30 * 60) / 300]);
  close(row(2), [c0, c0, 30 * Math.SQRT2 / 300, 30 / Math.SQRT2 / 300]);
  close(row(3), [c0, c0, 30 / Math.SQRT2 / 300, 30 * Math.SQRT2 / 300]);
  // Last box of conv4_3: cell (37, 37) centre 37.5 · 8 / 300 = 1.0, ratio 1/2.
  close(row(5775), [1, 1, 30 / Math.SQRT2 / 300, 30 * Math.SQRT2 / 300]);
  // First box of fc7 (step 16, min 60, max 111) and of conv8_2 (ratio 3 is the 5th box).
  close(row(5776), [8 / 300, 8 / 300, 0.2, 0.2]);
  close(row(5776 + 2166 + 4), [
    16 / 300,
    16 / 300,
    111 * Math.sqrt(3) / 300,
    111 / Math.sqrt(3) / 300,
  ]);
  // conv11_2: one cell at 0.5, min 264, max 315; the 2:1 box is wider than the image (no clip).
  close(row(8728), [0.5, 0.5, 264 / 300, 264 / 300]);
  close(row(8729), [0.5, 0.5, Math.sqrt(264 * 315) / 300, Math.sqrt(264 * 315) / 300]);
  close(row(8730), [0.5, 0.5, 264 * Math.SQRT2 / 300, 264 / Math.SQRT2 / 300]);
  assert.ok(priors[8730 * 4 + 2] > 1);
});

Deno.test("generatePriors() gives the Caffe SSD512 boxes at both ends", () => {
  const priors = generatePriors(getConfig("ssd512"));
  assert.equal(priors.length / 4, 24564);
  const row = (i: number) => Array.from(priors.subarray(4 * i, 4 * i + 4));
  const close = (got: number[], want: number[]) =>
    got.forEach((v, k) => assert.ok(Math.abs(v - want[k]) <= 1e-6, `${got} vs ${want}`));
  // conv4_3: 64×64, step 8, min 35.84 px (7 %), max 76.8 px.
  close(row(0), [4 / 512, 4 / 512, 0.07, 0.07]);
  close(row(1), [4 / 512, 4 / 512, Math.sqrt(35.84 * 76.8) / 512, Math.sqrt(35.84 * 76.8) / 512]);
  // conv12_2: 1×1, step 512, min 460.8, max 537.6 px; last box is ratio 1/2.
  close(row(24563), [0.5, 0.5, 460.8 / Math.SQRT2 / 512, 460.8 * Math.SQRT2 / 512]);
});

Deno.test("priorLayerCounts() gives the paper's per-layer counts and totals", () => {
  const counts = (name: string) => priorLayerCounts(getConfig(name)).map((l) => l.count);
  const total = (name: string) => counts(name).reduce((a, b) => a + b, 0);
  assert.deepEqual(counts("ssd300"), [5776, 2166, 600, 150, 36, 4]);
  assert.deepEqual(counts("ssd300-coco"), [5776, 2166, 600, 150, 36, 4]);
  assert.equal(total("ssd300"), 8732);
  assert.equal(total("ssd512"), 24564);
  assert.equal(total("ssdlite320"), 3234);
  assert.deepEqual(counts("face-slim-320"), [3600, 600, 160, 60]);
  assert.equal(total("tiny"), 2390);
  const first = priorLayerCounts(getConfig("ssd300"))[0];
  assert.deepEqual(first.size, [38, 38]);
  assert.equal(first.boxesPerCell, 4);
  assert.ok(Math.abs(first.scale - 0.1) < 1e-12);
});

Deno.test("priorsHash() is equal for torchvision's priors and ours, different across configs", () => {
  const tv = readF32(new URL("priors_ssd300_coco.bin", TV));
  const ours = generatePriors(getConfig("ssd300-coco"));
  assert.equal(priorsHash(ours), priorsHash(tv));
  assert.equal(
    priorsHash(generatePriors(getConfig("ssdlite320"))),
    priorsHash(readF32(new URL("priors_ssdlite320.bin", TV))),
  );
  assert.notEqual(priorsHash(ours), priorsHash(generatePriors(getConfig("ssd300"))));
  assert.notEqual(priorsHash(ours), priorsHash(ours.subarray(0, ours.length - 4)));
});
