import assert from "node:assert/strict";
import { ssd } from "./cli.ts";

/** The `count` column of the table's rows, the total last. */
function counts(stdout: string): number[] {
  return stdout.split("\n").filter((l) => /^(\d+|total)\s/.test(l)).map((l) => {
    const cells = l.trim().split(/\s+/);
    return Number(l.startsWith("total") ? cells[1] : cells[3]);
  });
}

Deno.test("ssd priors --model ssd300 prints the paper's rows and 8732", async () => {
  const r = await ssd("priors", "--model", "ssd300");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(counts(r.stdout), [5776, 2166, 600, 150, 36, 4, 8732]);
  assert.match(r.stdout, /38×38\s+4\s+5776/);
  assert.match(r.stdout, /1×1\s+4\s+4\s/);
});

Deno.test("ssd priors --json gives the totals of every shipped prior set", async () => {
  const want: Record<string, number> = {
    "ssd300-coco": 8732,
    ssd512: 24564,
    ssdlite320: 3234,
    "face-slim-320": 4420,
  };
  for (const [model, total] of Object.entries(want)) {
    const r = await ssd("priors", "--model", model, "--json");
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.model, model);
    assert.equal(j.total, total);
    assert.equal(j.layers.reduce((n: number, l: { count: number }) => n + l.count, 0), total);
    for (const l of j.layers) {
      assert.equal(l.count, l.size[0] * l.size[1] * l.boxesPerCell);
      assert.equal(typeof l.scale, "number");
    }
  }
});

Deno.test("ssd priors --dump writes all priors in center form", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/priors.json`;
    const r = await ssd("priors", "--model", "ssd300", "--dump", file);
    assert.equal(r.code, 0, r.stderr);
    const priors: number[][] = JSON.parse(await Deno.readTextFile(file));
    assert.equal(priors.length, 8732);
    // first prior: centre 4/300, min size 30 px (hand computed)
    assert.ok(Math.abs(priors[0][0] - 4 / 300) < 1e-6 && Math.abs(priors[0][2] - 0.1) < 1e-6);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["priors.json"]); // no temp file left
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ssd priors with an unknown model exits 2 and lists the known ones", async () => {
  const r = await ssd("priors", "--model", "ssd301");
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^error: unknown model "ssd301"; pass one of .*ssd300.*ssdlite320/);
});

Deno.test("ssd priors without --model exits 2", async () => {
  const r = await ssd("priors");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--model/);
});
