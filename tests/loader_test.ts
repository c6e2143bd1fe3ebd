import assert from "node:assert/strict";
import { FileError } from "../lib/errors.ts";
import { writeImage } from "../lib/data/image.ts";
import {
  type Batch,
  createLoader,
  defaultWorkers,
  type LoaderOptions,
} from "../lib/data/loader.ts";

/** A model config's normalization (tiny: (x − 127.5) / 127.5). */
const NORM = {
  mean: [127.5, 127.5, 127.5] as [number, number, number],
  std: [127.5, 127.5, 127.5] as [number, number, number],
};
import type { Dataset, Sample } from "../lib/data/types.ts";

type Box = [number, number, number, number];

/** A dataset of `n` PNG images of 16×12 whose pixel (x, y) of image i is (x·10, y·10, i). */
async function makeDataset(dir: string, n: number): Promise<Dataset> {
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Uint8Array(16 * 12 * 3);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 16; x++) data.set([x * 10, y * 10, i], (y * 16 + x) * 3);
    }
    const imagePath = `${dir}/img${i}.png`;
    await writeImage(imagePath, { width: 16, height: 12, data });
    samples.push({
      id: `img${i}`,
      imagePath,
      width: 16,
      height: 12,
      objects: [
        { bboxPx: [2, 3, 10, 9] as Box, classIndex: i % 3, difficult: false },
        { bboxPx: [8, 0, 16, 6] as Box, classIndex: 2, difficult: true },
      ],
    });
  }
  return { format: "voc", root: dir, classes: ["a", "b", "c"], samples };
}

async function collect(dataset: Dataset, opts: LoaderOptions, epoch = 0): Promise<Batch[]> {
  const loader = createLoader(dataset, opts);
  try {
    const out: Batch[] = [];
    for await (const b of loader.epoch(epoch)) out.push(b);
    return out;
  } finally {
    loader.close();
  }
}

async function withDataset(n: number, fn: (d: Dataset) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(await makeDataset(dir, n));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("createLoader() without augmentation gives (x − mean)/std, normalised boxes, 1-based labels", async () => {
  await withDataset(3, async (dataset) => {
    const batches = await collect(dataset, {
      batchSize: 2,
      imageSize: [12, 16],
      mean: [10, 20, 30],
      std: [2, 4, 5],
      workers: 0,
    });
    assert.deepEqual(batches.map((b) => b.ids), [["img0", "img1"], ["img2"]]);
    const b = batches[0];
    assert.deepEqual(b.size, [12, 16]);
    assert.equal(b.images.length, 2 * 12 * 16 * 3);
    // Image 1, pixel (x=5, y=7) = (50, 70, 1) → ((50−10)/2, (70−20)/4, (1−30)/5).
    const k = ((1 * 12 + 7) * 16 + 5) * 3;
    assert.deepEqual([...b.images.subarray(k, k + 3)], [20, 12.5, -5.8].map(Math.fround));
    // Only the non-difficult box: [2, 3, 10, 9] of 16×12.
    assert.deepEqual([...b.boxes[0]], [2 / 16, 3 / 12, 10 / 16, 9 / 12].map(Math.fround));
    assert.deepEqual(b.labels.map((l) => [...l]), [[1], [2]]);
    assert.deepEqual([...batches[1].labels[0]], [3]);
  });
});

Deno.test("createLoader() keeps difficult objects on request and resizes to imageSize", async () => {
  await withDataset(1, async (dataset) => {
    const [b] = await collect(dataset, {
      batchSize: 4,
      imageSize: [6, 8],
      mean: [0, 0, 0],
      std: [1, 1, 1],
      workers: 0,
      keepDifficult: true,
    });
    assert.equal(b.images.length, 6 * 8 * 3);
    assert.deepEqual([...b.labels[0]], [1, 3]);
    // Boxes are relative, so resizing leaves them alone.
    assert.deepEqual([...b.boxes[0].subarray(4)], [0.5, 0, 1, 0.5]);
    // Blue is the constant image index 0 everywhere, whatever the interpolation.
    for (let i = 2; i < b.images.length; i += 3) assert.equal(b.images[i], 0);
  });
});

Deno.test("createLoader() gives the same augmented batches with 0 and 2 workers", async () => {
  await withDataset(7, async (dataset) => {
    const opts = {
      ...NORM,
      batchSize: 3,
      imageSize: [10, 10] as [number, number],
      augment: true,
      shuffle: true,
      seed: 5,
    };
    const a = await collect(dataset, { ...opts, workers: 0 });
    const b = await collect(dataset, { ...opts, workers: 2, prefetch: 1 });
    const c = await collect(dataset, { ...opts, workers: 0 }, 1);
    assert.deepEqual(b, a);
    const idsA = a.flatMap((x) => x.ids), idsC = c.flatMap((x) => x.ids);
    assert.deepEqual([...idsA].sort(), dataset.samples.map((s) => s.id).sort(), "each sample once");
    assert.notDeepEqual(idsA, idsC, "another epoch, another order");
    for (const batch of a) {
      batch.boxes.forEach((boxes, j) => {
        assert.equal(boxes.length, batch.labels[j].length * 4);
        for (let g = 0; g < boxes.length; g += 4) {
          assert.ok(0 <= boxes[g] && boxes[g] < boxes[g + 2] && boxes[g + 2] <= 1);
          assert.ok(0 <= boxes[g + 1] && boxes[g + 1] < boxes[g + 3] && boxes[g + 3] <= 1);
        }
      });
    }
  });
});

Deno.test("createLoader() prepares the next epoch's first batches early, the same ones", async () => {
  await withDataset(7, async (dataset) => {
    const opts = {
      ...NORM,
      batchSize: 2,
      imageSize: [10, 10] as [number, number],
      augment: true,
      shuffle: true,
      seed: 9,
      workers: 1,
      prefetch: 2,
    };
    const fresh = await collect(dataset, opts, 1);
    const loader = createLoader(dataset, opts);
    try {
      const read = async (epoch: number, start?: number) => {
        const out: Batch[] = [];
        for await (const b of loader.epoch(epoch, start)) out.push(b);
        return out;
      };
      await read(0); // leaves epoch 1's first batches under way
      assert.deepEqual(await read(1), fresh);
      await read(1); // leaves epoch 2's: a resume elsewhere does not take them
      assert.deepEqual(await read(1, 2), fresh.slice(2));
    } finally {
      loader.close();
    }
  });
});

Deno.test("defaultWorkers() leaves a CPU training step a core of its own on 2 cores", () => {
  assert.deepEqual([1, 2, 3, 4, 16].map((cores) => defaultWorkers(cores)), [1, 1, 2, 2, 2]);
});

Deno.test("createLoader() drops the last short batch on request", async () => {
  await withDataset(5, async (dataset) => {
    const loader = createLoader(dataset, {
      ...NORM,
      batchSize: 2,
      imageSize: [4, 4],
      workers: 0,
      dropLast: true,
    });
    assert.equal(loader.batchesPerEpoch, 2);
    const sizes: number[] = [];
    for await (const b of loader.epoch(0)) sizes.push(b.ids.length);
    loader.close();
    assert.deepEqual(sizes, [2, 2]);
  });
});

Deno.test("createLoader() reports a corrupt image as a FileError naming it, with workers or not", async () => {
  await withDataset(3, async (dataset) => {
    const bad = dataset.samples[1].imagePath;
    await Deno.writeTextFile(bad, "not a png");
    for (const workers of [0, 1]) {
      await assert.rejects(
        collect(dataset, { ...NORM, batchSize: 2, imageSize: [4, 4], workers }),
        (err: unknown) =>
          err instanceof FileError && err.file === bad && /not a JPEG or PNG/.test(err.reason),
      );
    }
  });
});

Deno.test("createLoader() reports a zero-area box as bad ground truth of its image", async () => {
  await withDataset(1, async (dataset) => {
    dataset.samples[0].objects[0].bboxPx = [4, 4, 4, 9];
    await assert.rejects(
      collect(dataset, { ...NORM, batchSize: 1, imageSize: [4, 4], workers: 0 }),
      (err: unknown) => err instanceof FileError && /bad ground truth: .*box 0/.test(err.message),
    );
  });
});

Deno.test("createLoader() can be left early and rejects bad options", async () => {
  await withDataset(6, async (dataset) => {
    const loader = createLoader(dataset, {
      ...NORM,
      batchSize: 1,
      imageSize: [4, 4],
      workers: 1,
      prefetch: 3,
    });
    for await (const _ of loader.epoch(0)) break;
    loader.close();
  });
  const empty: Dataset = { format: "voc", root: ".", classes: [], samples: [] };
  assert.throws(
    () => createLoader(empty, { ...NORM, batchSize: 0, imageSize: [4, 4] }),
    RangeError,
  );
  assert.throws(
    () => createLoader(empty, { ...NORM, batchSize: 1, imageSize: [4, 0] }),
    RangeError,
  );
  assert.throws(
    () => createLoader(empty, { ...NORM, batchSize: 1, imageSize: [4, 4], workers: -1 }),
    RangeError,
  );
});

Deno.test("prepareSample() shrinks an image past 4× the input side first (boxes with it), leaves others as they are", async () => {
  const { prepareSample, MAX_SIDE_FACTOR } = await import("../lib/data/loader_sample.ts");
  const { resizeBilinearCv2 } = await import("../lib/data/image.ts");
  const { normalizeRgb } = await import("../lib/data/normalize.ts");
  const dir = await Deno.makeTempDir();
  try {
    const imageSize: [number, number] = [6, 8]; // [H, W]: the cap is 4 × 8 = 32 pixels
    assert.equal(MAX_SIDE_FACTOR, 4);
    for (const [w, h, shrunk] of [[32, 20, false], [50, 30, true], [30, 64, true]] as const) {
      const data = new Uint8Array(w * h * 3);
      for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 5) * 11) % 256;
      const image = { width: w, height: h, data };
      const path = `${dir}/${w}x${h}.png`;
      await writeImage(path, image);
      const box: Box = [w * 0.25, h * 0.5, w * 0.75, h];
      const job = {
        imagePath: path,
        boxesPx: [box],
        labels: [2],
        seed: 1,
        imageSize,
        augment: false,
        ...NORM,
      };
      const got = await prepareSample(job);
      const side = Math.max(w, h);
      const first = shrunk
        ? resizeBilinearCv2(image, Math.round(w * 32 / side), Math.round(h * 32 / side))
        : image;
      assert.equal(shrunk, side > 32);
      const want = normalizeRgb(resizeBilinearCv2(first, imageSize[1], imageSize[0]), NORM);
      assert.deepEqual(got.image, want, `${w}×${h}`);
      // Normalised boxes do not change with the shrink.
      const norm = [0.25, 0.5, 0.75, 1];
      got.boxes.forEach((v, k) =>
        assert.ok(Math.abs(v - norm[k]) < 1e-6, `${w}×${h}: ${got.boxes}`)
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
