import assert from "node:assert/strict";
import { drawDetections } from "../lib/data/image.ts";

const grey = (w: number, h: number) => ({
  width: w,
  height: h,
  data: new Uint8Array(w * h * 3).fill(90),
});
const px = (
  img: { width: number; data: Uint8Array },
  x: number,
  y: number,
) => [...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3)];

Deno.test("drawDetections() draws a frame in the class colour and leaves the inside alone", async () => {
  const img = grey(200, 150);
  const out = await drawDetections(img, [{
    bboxPx: [50, 60, 150, 140],
    label: "face",
    classIndex: 1,
  }], {
    lineWidth: 2,
  });
  assert.deepEqual(px(out, 100, 60), [255, 127, 14]); // top edge, palette colour 1
  assert.deepEqual(px(out, 100, 139), [255, 127, 14]); // bottom edge (x2, y2 exclusive)
  assert.deepEqual(px(out, 50, 100), [255, 127, 14]); // left edge
  assert.deepEqual(px(out, 100, 100), [90, 90, 90]); // inside
  assert.deepEqual(px(out, 100, 145), [90, 90, 90]); // outside
  assert.deepEqual(px(img, 100, 60), [90, 90, 90]); // input untouched
});

Deno.test("drawDetections() puts a filled tag with text above the box, or inside at the top", async () => {
  const out = await drawDetections(grey(300, 200), [
    { bboxPx: [100, 100, 200, 180], label: "face", score: 0.98, classIndex: 0 },
    { bboxPx: [10, 0, 80, 60], label: "cat", score: 0.5, classIndex: 2 },
  ], { fontSize: 16 });
  // Above the first box: tag pixels in colour 0 (31,119,180) and text pixels (white ink).
  const row = (y: number, x0: number, x1: number) =>
    Array.from({ length: x1 - x0 }, (_, i) => px(out, x0 + i, y));
  const above = [...row(90, 100, 160), ...row(95, 100, 160)];
  assert.ok(above.some((p) => p.join() === "31,119,180"), "tag fill above the box");
  assert.ok(above.some((p) => p[0] > 200 && p[1] > 200 && p[2] > 200), "white text on the tag");
  // The second box touches the top edge: its tag goes inside the box.
  const inside = row(8, 12, 60);
  assert.ok(inside.some((p) => p.join() === "44,160,44"), "tag inside the box");
});

Deno.test("drawDetections() clips boxes that leave the image and handles no boxes", async () => {
  const img = grey(40, 30);
  const out = await drawDetections(img, [{ bboxPx: [-20, -10, 100, 90], label: "x", score: 1 }]);
  assert.equal(out.data.length, img.data.length);
  assert.deepEqual((await drawDetections(img, [])).data, img.data);
  await assert.rejects(
    drawDetections(img, [{ bboxPx: [1, 1, 5, 5], label: "x" }], { lineWidth: 0 }),
    RangeError,
  );
});

Deno.test("drawDetections() scales the default text with the image", async () => {
  // The tag above a box is taller on a larger image: count tag-coloured rows above the box.
  const tagRows = async (w: number, h: number) => {
    const out = await drawDetections(grey(w, h), [{
      bboxPx: [w / 4, h / 2, w / 2, (3 * h) / 4],
      label: "face",
      classIndex: 0,
    }]);
    let rows = 0;
    for (let y = 0; y < h / 2; y++) if (px(out, w / 4 + 1, y).join() === "31,119,180") rows++;
    return rows;
  };
  const small = await tagRows(320, 240), large = await tagRows(1600, 1200);
  assert.ok(large > 2 * small, `tag height ${small} px at 320x240, ${large} px at 1600x1200`);
});
