import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import {
  boxIou,
  cxcywhToXyxy,
  decodeBoxes,
  decodeBoxesArray,
  encodeBoxes,
  xyxyToCxcywh,
} from "../lib/boxes.ts";

await tf.setBackend("cpu");

// torchvision 0.14 box_iou and BoxCoder(10, 10, 5, 5); see fixtures/torchvision/make_fixtures.py.
const fx = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/torchvision/boxes.json", import.meta.url)),
);

/** |a − b| ≤ tol · max(1, |b|) for every element (NaN only where expected NaN). */
function assertClose(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) {
      assert.ok(Number.isNaN(got[i]), `${what}[${i}]: expected NaN, got ${got[i]}`);
      continue;
    }
    const err = Math.abs(got[i] - want[i]);
    assert.ok(
      err <= tol * Math.max(1, Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

Deno.test("boxIou() equals torchvision box_iou within 1e-6, incl. IoU 0.5, touching and degenerate boxes", () => {
  const iou = tf.tidy(() => boxIou(tf.tensor2d(fx.iou.boxes1), tf.tensor2d(fx.iou.boxes2)));
  assert.deepEqual(iou.shape, [fx.iou.boxes1.length, fx.iou.boxes2.length]);
  const got = iou.dataSync();
  assertClose(got, fx.iou.iou.flat(), 1e-6, "iou");
  const m = fx.iou.boxes2.length;
  assert.equal(got[1 * m + 0], 0.5); // exactly 0.5, as torchvision
  assert.equal(got[2 * m + 0], 0); // touching edges
  iou.dispose();
});

Deno.test("encodeBoxes() equals torchvision BoxCoder.encode_single within 1e-6 relative", () => {
  const codes = tf.tidy(() =>
    encodeBoxes(tf.tensor2d(fx.encode.gtXyxy), tf.tensor2d(fx.encode.priorsCxcywh))
  );
  assertClose(codes.dataSync(), fx.encode.codes.flat(), 1e-6, "codes");
  codes.dispose();
});

Deno.test("decodeBoxes() equals torchvision BoxCoder.decode_single, clamping dw, dh at log(1000/16)", () => {
  const boxes = tf.tidy(() =>
    decodeBoxes(tf.tensor2d(fx.decode.codes), tf.tensor2d(fx.decode.priorsCxcywh))
  );
  const got = boxes.dataSync();
  assertClose(got, fx.decode.boxesXyxy.flat(), 1e-6, "boxes");
  // row 0 has dw = 30 / 5 = 6 > log(62.5): its width is exactly 62.5 prior widths
  const pw = fx.decode.priorsCxcywh[0][2];
  assert.ok(Math.abs((got[2] - got[0]) / pw - 62.5) < 1e-3);
  boxes.dispose();
});

Deno.test("decodeBoxes() inverts encodeBoxes() (torchvision's round trip too)", () => {
  const back = tf.tidy(() => {
    const priors = tf.tensor2d(fx.encode.priorsCxcywh);
    return decodeBoxes(encodeBoxes(tf.tensor2d(fx.encode.gtXyxy), priors), priors);
  });
  assertClose(back.dataSync(), fx.encode.gtXyxy.flat(), 1e-6, "round trip");
  assertClose(back.dataSync(), fx.decode.roundtripXyxy.flat(), 1e-6, "torchvision round trip");
  back.dispose();
});

Deno.test("decodeBoxes() with clampLog Infinity does not clamp (UltraFace)", () => {
  const boxes = tf.tidy(() =>
    decodeBoxes(tf.tensor2d([[0, 0, 25, 0]]), tf.tensor2d([[0.5, 0.5, 0.01, 0.01]]), {
      clampLog: Infinity,
    })
  );
  const [x1, , x2] = boxes.dataSync();
  assert.ok(Math.abs((x2 - x1) / 0.01 - Math.exp(5)) < 1e-2);
  boxes.dispose();
});

Deno.test("encodeBoxes() and decodeBoxes() broadcast a batch [B, P, 4] over priors [P, 4]", () => {
  const out = tf.tidy(() => {
    const priors = tf.tensor2d([[0.5, 0.5, 0.2, 0.2], [0.2, 0.3, 0.1, 0.4]]);
    const codes = tf.tensor3d([[[2.5, 0, 0, 0], [0, 0, 0, 0]], [[0, 0, 0, 0], [0, -1, 0, 0]]]);
    return decodeBoxes(codes, priors);
  });
  assert.deepEqual(out.shape, [2, 2, 4]);
  // hand computed: image 1, prior 1: cy = 0.3 − 1·0.1·0.4 = 0.26, h 0.4 → y1 0.06, y2 0.46
  assertClose(out.dataSync().slice(12, 16), [0.15, 0.06, 0.25, 0.46], 1e-6, "batch");
  out.dispose();
});

Deno.test("cxcywhToXyxy() and xyxyToCxcywh() are inverse", () => {
  const back = tf.tidy(() => xyxyToCxcywh(cxcywhToXyxy(tf.tensor2d([[0.3, 0.4, 0.2, 0.6]]))));
  assertClose(back.dataSync(), [0.3, 0.4, 0.2, 0.6], 1e-6, "round trip");
  back.dispose();
});

Deno.test("box functions reject boxes that are not [.., 4] with expected and actual shapes", () => {
  const bad = tf.zeros([3, 5]) as tf.Tensor2D;
  const ok = tf.zeros([3, 4]) as tf.Tensor2D;
  assert.throws(() => boxIou(bad, ok), /boxes1 must have shape \[N, 4\], got \[3,5\]/);
  assert.throws(() => boxIou(ok, bad), TypeError);
  assert.throws(() => encodeBoxes(bad, ok), TypeError);
  assert.throws(() => decodeBoxes(ok, bad), TypeError);
  tf.dispose([bad, ok]);
});

Deno.test("box functions leave no tensors behind", () => {
  const a = tf.tensor2d(fx.iou.boxes1);
  const b = tf.tensor2d(fx.iou.boxes2);
  const priors = tf.tensor2d(fx.encode.priorsCxcywh);
  const gt = tf.tensor2d(fx.encode.gtXyxy);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.dispose([boxIou(a, b), encodeBoxes(gt, priors), decodeBoxes(gt, priors)]);
    tf.dispose([cxcywhToXyxy(priors), xyxyToCxcywh(gt)]);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, b, priors, gt]);
});

Deno.test("decodeBoxesArray() equals torchvision BoxCoder.decode_single within 1e-6", () => {
  const got = decodeBoxesArray(
    new Float32Array(fx.decode.codes.flat()),
    new Float32Array(fx.decode.priorsCxcywh.flat()),
  );
  assertClose(got, fx.decode.boxesXyxy.flat(), 1e-6, "boxes");
});

Deno.test("decodeBoxesArray() agrees with decodeBoxes() on a batch, with and without the clamp", () => {
  // a seeded LCG: codes in [−8, 8) reach past the clamp log(62.5) ≈ 4.13 after the 0.2 variance
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const p = 50, b = 3;
  const priors = Float32Array.from(
    { length: 4 * p },
    (_, i) => (i % 4 < 2 ? rand() : 0.02 + rand()),
  );
  const codes = Float32Array.from({ length: 4 * p * b }, () => 16 * rand() - 8);
  for (const options of [{}, { clampLog: Infinity, variances: [0.1, 0.2] as [number, number] }]) {
    const want = tf.tidy(() =>
      decodeBoxes(tf.tensor3d(codes, [b, p, 4]), tf.tensor2d(priors, [p, 4]), options).dataSync()
    );
    const got = decodeBoxesArray(codes, priors, options);
    assertClose(got, Array.from(want), 1e-6, "array vs tfjs");
  }
});

Deno.test("decodeBoxesArray() rejects codes that are not [B·P, 4] for the priors", () => {
  assert.throws(
    () => decodeBoxesArray(new Float32Array(12), new Float32Array(8)),
    /codes must have shape \[B·P, 4\] for priors \[P, 4\], got 12 and 8 values/,
  );
});
