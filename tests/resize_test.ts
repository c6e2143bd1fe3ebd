import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readImage } from "../lib/data/image.ts";
import { resizeBilinearCv2 } from "../lib/data/resize.ts";

const FIX = new URL("../fixtures/image/", import.meta.url).pathname;
const expected = JSON.parse(await Deno.readTextFile(`${FIX}expected.json`));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

for (
  const [name, c] of Object.entries(expected.resize) as [string, {
    src: [number, number];
    dst: [number, number];
    md5: string;
  }][]
) {
  Deno.test(`resizeBilinearCv2() equals cv2.resize INTER_LINEAR bit for bit: ${name} ${c.src.join("x")} -> ${c.dst.join("x")}`, async () => {
    const src = await Deno.readFile(`${FIX}resize/${name}.src.rgb`);
    const want = await Deno.readFile(`${FIX}resize/${name}.cv2.rgb`);
    const out = resizeBilinearCv2(
      { width: c.src[0], height: c.src[1], data: src },
      c.dst[0],
      c.dst[1],
    );
    assert.equal(out.width, c.dst[0]);
    assert.equal(out.height, c.dst[1]);
    let diff = 0;
    for (let i = 0; i < want.length; i++) if (out.data[i] !== want[i]) diff++;
    assert.equal(diff, 0, `${diff} of ${want.length} bytes differ from cv2`);
    assert.equal(md5(out.data), c.md5);
  });
}

const ultraface = JSON.parse(await Deno.readTextFile(`${FIX}ultraface.json`));
for (const name of ["13.jpg", "2.jpg", "8.jpg"]) {
  Deno.test(`readImage() + resizeBilinearCv2() reproduce UltraFace's cv2 input for ${name}`, async () => {
    const entry = ultraface.images.find((e: { file: string }) => e.file === name);
    const img = await readImage(`${FIX}ultraface/${name}`);
    assert.deepEqual([img.width, img.height], [entry.width, entry.height]);
    const bgr = new Uint8Array(img.data.length);
    for (let i = 0; i < bgr.length; i += 3) {
      bgr[i] = img.data[i + 2];
      bgr[i + 1] = img.data[i + 1];
      bgr[i + 2] = img.data[i];
    }
    assert.equal(md5(bgr), entry.decoded_bgr_hwc_u8_md5, "decoded pixels differ from cv2.imread");
    const input = resizeBilinearCv2(img, 320, 240);
    assert.equal(
      md5(input.data),
      entry.input_rgb_u8_240x320x3_md5,
      "resized pixels differ from cv2.resize",
    );
  });
}

Deno.test("resizeBilinearCv2() does not modify its input and returns a copy at the same size", () => {
  const data = new Uint8Array(2 * 2 * 3).map((_, i) => i);
  const img = { width: 2, height: 2, data };
  const same = resizeBilinearCv2(img, 2, 2);
  assert.deepEqual(same.data, data);
  assert.notEqual(same.data, data);
  resizeBilinearCv2(img, 7, 3);
  assert.deepEqual([...data], [...Array(12).keys()]);
});

Deno.test("resizeBilinearCv2() rejects bad sizes and mismatched data with expected vs actual", () => {
  const img = { width: 2, height: 2, data: new Uint8Array(12) };
  assert.throws(() => resizeBilinearCv2(img, 0, 3), RangeError);
  assert.throws(() => resizeBilinearCv2(img, 2.5, 3), /width must be a positive integer, got 2.5/);
  assert.throws(
    () => resizeBilinearCv2({ width: 2, height: 2, data: new Uint8Array(5) }, 1, 1),
    /expected 2×2×3 = 12 bytes of RGB data, got 5/,
  );
});
