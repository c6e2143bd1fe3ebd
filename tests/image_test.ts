import assert from "node:assert/strict";
import {
  decodeImage,
  encodeJpeg,
  encodePng,
  inspectImage,
  readImage,
  writeImage,
} from "../lib/data/image.ts";
import { FileError } from "../lib/errors.ts";

const FIX = new URL("../fixtures/image/", import.meta.url).pathname;
const expected = JSON.parse(await Deno.readTextFile(`${FIX}expected.json`));

for (const name of Object.keys(expected.png)) {
  Deno.test(`decodeImage() gives cv2.imread's pixels for PNG ${name}`, async () => {
    const img = await readImage(`${FIX}png/${name}.png`);
    const want = await Deno.readFile(`${FIX}png/${name}.rgb`);
    assert.deepEqual([img.width, img.height], [
      expected.png[name].width,
      expected.png[name].height,
    ]);
    assert.deepEqual(img.data, want);
  });
}

for (const name of Object.keys(expected.jpeg)) {
  Deno.test(`decodeImage() gives cv2.imread's pixels (EXIF orientation applied) for JPEG ${name}`, async () => {
    const img = await readImage(`${FIX}jpeg/${name}.jpg`);
    const want = await Deno.readFile(`${FIX}jpeg/${name}.rgb`);
    assert.deepEqual([img.width, img.height], [
      expected.jpeg[name].width,
      expected.jpeg[name].height,
    ]);
    let diff = 0;
    for (let i = 0; i < want.length; i++) if (img.data[i] !== want[i]) diff++;
    assert.equal(diff, 0, `${diff} bytes differ`);
  });
}

Deno.test("decodeImage() names truncated and corrupt JPEGs and non-images in one line", async () => {
  const full = await Deno.readFile(`${FIX}ultraface/13.jpg`);
  for (const n of [full.length - 2, Math.floor(full.length / 2), 300, 10]) {
    await assert.rejects(decodeImage(full.subarray(0, n), "t.jpg"), (err: Error) => {
      assert.ok(err instanceof FileError);
      assert.equal(err.file, "t.jpg");
      assert.match(err.reason, /^truncated JPEG/);
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  }
  await assert.rejects(
    decodeImage(new TextEncoder().encode("just text\n"), "a.png"),
    { message: "a.png: not a JPEG or PNG image" },
  );
  await assert.rejects(decodeImage(new Uint8Array(0), "e.jpg"), { message: "e.jpg: empty file" });
  const png = await Deno.readFile(`${FIX}png/rgb8.png`);
  await assert.rejects(
    decodeImage(png.subarray(0, png.length - 30), "p.png"),
    /p.png: truncated PNG/,
  );
  const broken = png.slice();
  broken.fill(7, 40, 60); // inside IDAT: bad zlib data, file still ends with IEND
  await assert.rejects(decodeImage(broken, "c.png"), /c.png: corrupt PNG/);
  const cmyk = await Deno.readFile(`${FIX}jpeg/cmyk.jpg`);
  await assert.rejects(decodeImage(cmyk, "k.jpg"), {
    message:
      "k.jpg: CMYK/YCCK JPEG: only RGB and greyscale JPEGs are supported (convert it to RGB)",
  });
});

Deno.test("inspectImage() reports libjpeg's warning for corrupt but decodable JPEG data", async () => {
  const good = await Deno.readFile(`${FIX}ultraface/13.jpg`);
  const bad = good.slice();
  bad.fill(0x41, 4000, 4400);
  const { image, warnings } = await inspectImage(bad, "w.jpg");
  assert.equal(image.width, 450);
  assert.ok(warnings.some((w) => /Corrupt JPEG data/.test(w)), JSON.stringify(warnings));
  assert.deepEqual((await inspectImage(good, "g.jpg")).warnings, []);
});

Deno.test("readImage() gives one-line FileErrors for a missing file and a folder", async () => {
  await assert.rejects(readImage(`${FIX}nope.jpg`), { message: `${FIX}nope.jpg: no such file` });
  await assert.rejects(readImage(`${FIX}png`), {
    message: `${FIX}png: is a directory, not a file`,
  });
});

Deno.test("encodePng() round-trips exactly and gives the same bytes for the same pixels", async () => {
  const img = {
    width: 17,
    height: 9,
    data: new Uint8Array(17 * 9 * 3).map((_, i) => (i * 37) % 256),
  };
  const a = await encodePng(img), b = await encodePng({ ...img, data: img.data.slice() });
  assert.deepEqual(a, b);
  assert.deepEqual(await decodeImage(a, "a.png"), img);
});

Deno.test("encodeJpeg() output decodes close to the input; quality is checked", async () => {
  const data = new Uint8Array(32 * 16 * 3);
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 32; x++) data.set([x * 8, y * 16, 128], 3 * (y * 32 + x));
  }
  const img = { width: 32, height: 16, data };
  const back = await decodeImage(await encodeJpeg(img, 95), "a.jpg");
  let maxd = 0;
  for (let i = 0; i < data.length; i++) maxd = Math.max(maxd, Math.abs(back.data[i] - data[i]));
  assert.ok(maxd <= 12, `max difference ${maxd}`);
  await assert.rejects(encodeJpeg(img, 0), /quality must be an integer 1…100, got 0/);
});

Deno.test("writeImage() writes by extension through a temporary file and rejects others", async () => {
  const dir = await Deno.makeTempDir();
  const img = { width: 8, height: 8, data: new Uint8Array(192).fill(77) };
  await writeImage(`${dir}/a.PNG`, img);
  await writeImage(`${dir}/b.jpeg`, img);
  assert.deepEqual((await readImage(`${dir}/a.PNG`)).data, img.data);
  assert.equal((await readImage(`${dir}/b.jpeg`)).width, 8);
  await assert.rejects(writeImage(`${dir}/c.gif`, img), /c.gif: unsupported image type/);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.PNG", "b.jpeg"]);
  await Deno.remove(dir, { recursive: true });
});
