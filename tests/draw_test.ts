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

Deno.test("drawDetections() puts a filled tag with text above the box, else below, else inside", async () => {
  const out = await drawDetections(grey(300, 200), [
    { bboxPx: [100, 100, 200, 180], label: "face", score: 0.98, classIndex: 0 },
    { bboxPx: [10, 0, 80, 60], label: "cat", score: 0.5, classIndex: 2 },
    { bboxPx: [230, 0, 290, 200], label: "dog", classIndex: 3 },
  ], { fontSize: 16 });
  const row = (y: number, x0: number, x1: number) =>
    Array.from({ length: x1 - x0 }, (_, i) => px(out, x0 + i, y));
  // Above the first box: tag pixels in colour 0 (31,119,180) and text pixels (white ink).
  const above = [...row(90, 100, 160), ...row(95, 100, 160)];
  assert.ok(above.some((p) => p.join() === "31,119,180"), "tag fill above the box");
  assert.ok(above.some((p) => p[0] > 200 && p[1] > 200 && p[2] > 200), "white text on the tag");
  // The second box touches the top edge: its tag goes below it, off the object.
  assert.ok(row(64, 12, 60).some((p) => p.join() === "44,160,44"), "tag below the box");
  assert.ok(!row(8, 12, 60).some((p) => p.join() === "44,160,44"), "nothing inside the box");
  // The third fills the image's height: inside its top edge is the only room.
  assert.ok(row(8, 234, 286).some((p) => p.join() === "214,39,40"), "tag inside the box");
});

Deno.test("drawDetections() keeps a tag off a neighbouring box when there is room", async () => {
  // B sits right above A, so A's tag goes below A rather than over B.
  const a = [100, 100, 160, 160], b = [100, 50, 160, 98];
  const out = await drawDetections(grey(300, 220), [
    { bboxPx: a as [number, number, number, number], label: "a", classIndex: 0 },
    { bboxPx: b as [number, number, number, number], label: "b", classIndex: 1 },
  ], { fontSize: 14, lineWidth: 2 });
  const inB = Array.from({ length: 50 }, (_, i) => px(out, 105 + i, 80));
  assert.ok(!inB.some((p) => p.join() === "31,119,180"), "no tag of A inside B");
  const belowA = Array.from({ length: 50 }, (_, i) => px(out, 105 + i, 166));
  assert.ok(belowA.some((p) => p.join() === "31,119,180"), "A's tag below A");
});

Deno.test("placeTags() takes the first free place: above, below, inside; flush left, then right", async () => {
  const { placeTags } = await import("../lib/data/label_place.ts");
  const image = { width: 100, height: 100 };
  const tag = { width: 20, height: 10 };
  // Above [40, 40, 70, 70] is y 30…40, flush left at x 40.
  assert.deepEqual(placeTags([[40, 40, 70, 70]], [tag], image)[0], {
    left: 40,
    top: 30,
    width: 20,
    height: 10,
    cost: 0,
  });
  // A box over the left part of that place pushes the tag right (x 50…70), still above.
  const two = placeTags([[40, 40, 70, 70], [30, 28, 45, 39]], [tag, tag], image);
  assert.deepEqual([two[0].left, two[0].top, two[0].cost], [50, 30, 0]);
  // The second box's own tag: above it there are only 28 px — room — at x 30.
  assert.deepEqual([two[1].left, two[1].top, two[1].cost], [30, 18, 0]);
  // Near the right edge a flush-left tag is moved back into the image.
  assert.equal(placeTags([[95, 50, 99, 60]], [tag], image)[0].left, 80);
  // No free place at all: the least covered one; a box filling the image is covered 200 px².
  const full = placeTags([[0, 0, 100, 100]], [tag], image)[0];
  assert.deepEqual([full.left, full.top, full.cost], [0, 0, 200]);
  assert.throws(() => placeTags([[0, 0, 1, 1]], [], image), /1 boxes and 0 tag sizes/);
});

Deno.test("drawDetections() draws smaller tags in a crowd, and --hide-conf/--hide-labels", async () => {
  // The run of colour 0 up from the first box's top frame, through its tag above the box.
  const tagHeight = async (boxes: number[][], opts = {}) => {
    const out = await drawDetections(
      grey(640, 480),
      boxes.map((b) => ({
        bboxPx: b as [number, number, number, number],
        label: "face",
        score: 0.9,
        classIndex: 0,
      })),
      opts,
    );
    const [x1, y1] = boxes[0];
    let rows = 0;
    while (y1 + 1 - rows >= 0 && px(out, x1 + 1, y1 + 1 - rows).join() === "31,119,180") rows++;
    return { rows, out };
  };
  const alone = await tagHeight([[300, 200, 330, 230]]);
  const crowd: number[][] = [];
  for (let y = 40; y < 440; y += 40) {
    for (let x = 20; x < 620; x += 40) crowd.push([x, y, x + 30, y + 30]);
  }
  const crowded = await tagHeight(crowd);
  // alone: the top frame (2 rows) and a tag of 15 px text; in the crowd the text is 10 px.
  assert.ok(
    crowded.rows < alone.rows - 4,
    `tag rows ${crowded.rows} in a crowd, ${alone.rows} alone`,
  );
  const bare = await tagHeight([[300, 200, 330, 230]], { hideLabels: true });
  assert.equal(bare.rows, 2, "frame only"); // (the left frame goes down, not up)
  const width = async (hideConf: boolean) => {
    const { out } = await tagHeight([[300, 200, 330, 230]], { hideConf });
    let n = 0;
    for (let x = 0; x < 640; x++) if (px(out, x, 195).join() === "31,119,180") n++;
    return n;
  };
  assert.ok(await width(true) < (await width(false)) - 20, "a tag without its score is narrower");
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
