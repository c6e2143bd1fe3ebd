import assert from "node:assert/strict";
import { parseVocXml, readVocImageSet } from "../lib/data/voc.ts";
import { FileError } from "../lib/errors.ts";

const CASE = new URL("../fixtures/eval/cases/p06_ties_duplicates/", import.meta.url).pathname;

Deno.test("parseVocXml() reads a devkit annotation as written", async () => {
  const ann = parseVocXml(await Deno.readTextFile(`${CASE}Annotations/001418.xml`), "001418.xml");
  assert.equal(ann.filename, "001418.jpg");
  assert.equal(ann.width, 640);
  assert.equal(ann.height, 480);
  assert.equal(ann.objects.length, 4);
  assert.deepEqual(ann.objects[0], {
    name: "train",
    difficult: false,
    truncated: false,
    bbox: [80, 86, 180, 187],
  });
});

Deno.test("parseVocXml() keeps float coordinates, defaults size to 0 and flags to false", () => {
  const ann = parseVocXml(
    `<?xml version="1.0"?><!-- c --><annotation><object><name> a&amp;b </name>
     <bndbox><xmin>1.5</xmin><ymin>2</ymin><xmax>10.25</xmax><ymax>20</ymax></bndbox></object></annotation>`,
    "f.xml",
  );
  assert.equal(ann.width, 0);
  assert.equal(ann.height, 0);
  assert.deepEqual(ann.objects[0], {
    name: "a&b",
    difficult: false,
    truncated: false,
    bbox: [1.5, 2, 10.25, 20],
  });
});

Deno.test("parseVocXml() throws FileError naming the file for malformed input", () => {
  const bad = [
    ["not xml at all", /not valid XML/],
    ["<annotation><object></annotation>", /not valid XML/],
    ["<foo/>", /expected an <annotation>/],
    ["<annotation><object><name>a</name></object></annotation>", /missing <bndbox>/],
    [
      "<annotation><object><name>a</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax></bndbox></object></annotation>",
      /missing <ymax>/,
    ],
    [
      "<annotation><object><name>a</name><bndbox><xmin>x</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>",
      /not a number/,
    ],
  ] as const;
  for (const [text, pattern] of bad) {
    assert.throws(() => parseVocXml(text, "bad.xml"), (err: unknown) => {
      assert.ok(err instanceof FileError);
      assert.equal(err.file, "bad.xml");
      assert.match(err.reason, pattern);
      return true;
    });
  }
});

Deno.test("readVocImageSet() defaults to test and errors on a missing list", async () => {
  const set = await readVocImageSet(CASE.slice(0, -1));
  assert.equal(set.set, "test");
  assert.equal(set.ids.length, 15);
  assert.equal(set.ids[0], "001418");
  await assert.rejects(readVocImageSet(CASE.slice(0, -1), "trainval"), FileError);
});

Deno.test("readVocImageSet() ignores the devkit's per-class lists beside a set", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/ImageSets/Main`, { recursive: true });
  await Deno.writeTextFile(`${root}/ImageSets/Main/trainval.txt`, "000005\n000007\n");
  await Deno.writeTextFile(
    `${root}/ImageSets/Main/aeroplane_trainval.txt`,
    "000005 -1\n000007  1\n",
  );
  await Deno.writeTextFile(`${root}/ImageSets/Main/dog_trainval.txt`, "000005  1\n000007 -1\n");
  assert.deepEqual(await readVocImageSet(root), { set: "trainval", ids: ["000005", "000007"] });
  await Deno.remove(root, { recursive: true });
});
