/**
 * Batches for training and evaluation: decoding and augmentation run ahead of the model, in
 * Web Workers (one per core is enough to keep a small machine busy) or on the main thread
 * (`workers: 0`).
 *
 * Results do not depend on scheduling: the epoch's order comes from `(seed, epoch)` and each
 * sample's augmentation from `(seed, epoch, sample index)`, so any number of workers gives the
 * same batches.
 *
 * @module
 */
import { FileError } from "../errors.ts";
import type { BoxPx } from "./augment.ts";
import { type PreparedSample, prepareSample, type SampleJob } from "./loader_sample.ts";
import { makeRng, mixSeed, shuffled } from "./rng.ts";
import type { Dataset } from "./types.ts";
import { WebWorker } from "../engine/web_worker.ts";

/** Options of {@link createLoader}. */
export interface LoaderOptions {
  /** Images per batch. */
  batchSize: number;
  /** Model input `[H, W]`; every image is resized to it. */
  imageSize: [number, number];
  /**
   * Per-channel mean in 0–255 units (also the zoom-out fill): the model config's
   * `preprocess.mean`, so training sees what `detect()` feeds the network.
   */
  mean: [number, number, number];
  /** Per-channel std in 0–255 units: the model config's `preprocess.std`. */
  std: [number, number, number];
  /** Apply the paper's augmentation (training). Default false. */
  augment?: boolean;
  /** Shuffle each epoch. Default false. */
  shuffle?: boolean;
  /** Seed of the order and of the augmentation. Default 0. */
  seed?: number;
  /** Web Workers decoding and augmenting; 0 works on the main thread. Default {@link defaultWorkers}. */
  workers?: number;
  /** Batches prepared ahead of the one being consumed. Default 2. */
  prefetch?: number;
  /** Drop the last batch when it is smaller than `batchSize`. Default false. */
  dropLast?: boolean;
  /** Keep VOC `difficult` / COCO `iscrowd` objects as positives. Default false, as ssd.pytorch. */
  keepDifficult?: boolean;
}

/**
 * The loader workers to start on a machine of `cores` cores: 2, or 1 where there are only 2
 * cores (or 1), so that a CPU training step keeps a core of its own. On 2 cores one worker kept
 * up with both steps measured, and made them faster: face-slim-320 on the raccoon photos 0.50 s
 * a step against 0.66 s with two, tiny on synthetic shapes 0.120 s against 0.146 s (loader
 * waits 0.03 s a step or less).
 */
export function defaultWorkers(cores: number = navigator.hardwareConcurrency ?? 1): number {
  return Math.min(2, Math.max(1, cores - 1));
}

/** One batch. */
export interface Batch {
  /** `[B, H, W, 3]` floats, `(x − mean) / std`. */
  images: Float32Array;
  /** `[H, W]` of each image. */
  size: [number, number];
  /** Per image `[G, 4]` normalised `xyxy`. */
  boxes: Float32Array[];
  /** Per image `[G]` 1-based class labels (0 is background). */
  labels: Int32Array[];
  /** The samples' ids. */
  ids: string[];
}

/** A loader over one dataset; call {@link DataLoader.close} when done (workers keep a process alive). */
export interface DataLoader {
  /** Batches in one epoch. */
  readonly batchesPerEpoch: number;
  /**
   * The batches of epoch `index` (0-based), in order, from batch `start` (default 0): a resumed
   * run skips the batches it has trained on without preparing them.
   */
  epoch(index: number, start?: number): AsyncGenerator<Batch>;
  /** Stop the workers. */
  close(): void;
}

type Reply = { id: number; sample?: PreparedSample; error?: Record<string, string | undefined> };

/** A pool of loader workers; jobs go to the least busy one. */
class WorkerPool {
  #workers: { worker: Worker; busy: number }[] = [];
  #pending = new Map<
    number,
    { resolve: (s: PreparedSample) => void; reject: (e: Error) => void }
  >();
  #nextId = 0;

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const worker = new WebWorker(new URL("./loader_worker.ts", import.meta.url).href, {
        type: "module",
      });
      const slot = { worker, busy: 0 };
      worker.onmessage = (event: MessageEvent<Reply>) => {
        slot.busy--;
        const { id, sample, error } = event.data;
        const task = this.#pending.get(id);
        this.#pending.delete(id);
        if (task === undefined) return;
        if (sample !== undefined) task.resolve(sample);
        else task.reject(reviveError(error ?? {}));
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const err = new Error(`loader worker failed: ${event.message}`);
        for (const task of this.#pending.values()) task.reject(err);
        this.#pending.clear();
      };
      this.#workers.push(slot);
    }
  }

  run(job: SampleJob): Promise<PreparedSample> {
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.#nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, job });
    });
  }

  close(): void {
    for (const { worker } of this.#workers) worker.terminate();
    this.#workers = [];
  }
}

function reviveError(e: Record<string, string | undefined>): Error {
  if (e.name === "FileError" && e.file !== undefined) return new FileError(e.file, e.reason ?? "");
  if (e.name === "RangeError") return new RangeError(e.message);
  if (e.name === "TypeError") return new TypeError(e.message);
  return new Error(e.message);
}

/**
 * Make a loader over `dataset`. Objects' pixel boxes are taken in the decoded image's pixels.
 *
 * @throws RangeError for a bad batch size, image size or worker count
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLoader } from "./loader.ts";
 * import { writeImage } from "./image.ts";
 * const dir = await Deno.makeTempDir();
 * await writeImage(`${dir}/a.png`, { width: 8, height: 8, data: new Uint8Array(192).fill(128) });
 * const sample = { id: "a", imagePath: `${dir}/a.png`, width: 8, height: 8,
 *   objects: [{ bboxPx: [0, 0, 4, 8] as [number, number, number, number], classIndex: 0, difficult: false }] };
 * const dataset = { format: "voc" as const, root: dir, classes: ["x"], samples: [sample, sample, sample] };
 * const loader = createLoader(dataset, {
 *   batchSize: 2, imageSize: [4, 4], workers: 0, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5],
 * });
 * const batches = [];
 * for await (const b of loader.epoch(0)) batches.push(b);
 * loader.close();
 * assert.deepEqual(batches.map((b) => b.ids.length), [2, 1]);
 * assert.equal(batches[0].images.length, 2 * 4 * 4 * 3);
 * assert.deepEqual([...batches[0].boxes[0]], [0, 0, 0.5, 1]);
 * assert.deepEqual([...batches[0].labels[0]], [1]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function createLoader(dataset: Dataset, opts: LoaderOptions): DataLoader {
  const { batchSize, imageSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot make a loader: batchSize must be an integer ≥ 1, got ${batchSize}`,
    );
  }
  if (imageSize.length !== 2 || !imageSize.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new RangeError(
      `Cannot make a loader: imageSize must be [H, W] of positive integers, got [${imageSize}]`,
    );
  }
  const workers = opts.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 0) {
    throw new RangeError(`Cannot make a loader: workers must be an integer ≥ 0, got ${workers}`);
  }
  const seed = opts.seed ?? 0;
  const prefetch = Math.max(0, opts.prefetch ?? 2);
  const n = dataset.samples.length;
  const batchesPerEpoch = opts.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  const pool = workers > 0 ? new WorkerPool(workers) : null;
  const [h, w] = imageSize;

  const jobOf = (index: number, epoch: number): SampleJob => {
    const s = dataset.samples[index];
    const objects = s.objects.filter((o) => opts.keepDifficult || !o.difficult);
    return {
      imagePath: s.imagePath,
      boxesPx: objects.map((o) => o.bboxPx.slice() as BoxPx),
      labels: objects.map((o) => o.classIndex + 1),
      seed: mixSeed(seed, epoch, index),
      imageSize: [h, w],
      mean: opts.mean,
      std: opts.std,
      augment: opts.augment ?? false,
    };
  };
  const run = async (job: SampleJob): Promise<PreparedSample> => {
    try {
      return pool !== null ? await pool.run(job) : await prepareSample(job);
    } catch (err) {
      if (err instanceof RangeError) {
        throw new FileError(job.imagePath, `bad ground truth: ${err.message}`, { cause: err });
      }
      throw err;
    }
  };
  const assemble = async (indices: number[], epoch: number): Promise<Batch> => {
    const samples = await Promise.all(indices.map((i) => run(jobOf(i, epoch))));
    const images = new Float32Array(indices.length * h * w * 3);
    samples.forEach((s, b) => images.set(s.image, b * h * w * 3));
    return {
      images,
      size: [h, w],
      boxes: samples.map((s) => s.boxes),
      labels: samples.map((s) => s.labels),
      ids: indices.map((i) => dataset.samples[i].id),
    };
  };

  /** The batches of one epoch from batch `next` on, prepared in order as they are asked for. */
  const batches = (index: number, next: number) => {
    const all = Array.from({ length: n }, (_, i) => i);
    const order = opts.shuffle ? shuffled(makeRng(mixSeed(seed, index, 0x5eed)), all) : all;
    const queue: Promise<Batch>[] = [];
    return {
      index,
      queue,
      /** Starts preparing the next batch; false when the epoch has no more. */
      submit(): boolean {
        if (next >= batchesPerEpoch) return false;
        const batch = assemble(order.slice(next * batchSize, (next + 1) * batchSize), index);
        batch.catch(() => {}); // awaited by epoch(); not reported as unhandled meanwhile
        queue.push(batch);
        next++;
        return true;
      },
    };
  };
  // the first batches of the epoch after the one being read: once an epoch has every batch
  // under way, the prefetch slots go on to the next, so a small dataset (a few batches per
  // epoch) does not wait for decoding at each epoch's start
  let ahead: ReturnType<typeof batches> | undefined;

  async function* epoch(index: number, start = 0): AsyncGenerator<Batch> {
    const current = ahead?.index === index && start === 0
      ? ahead
      : batches(index, Math.max(0, start));
    ahead = undefined;
    const submit = () => {
      if (current.submit()) return;
      ahead ??= batches(index + 1, 0);
      ahead.submit();
    };
    while (current.queue.length <= prefetch && current.submit());
    while (current.queue.length > 0) {
      const batch = await current.queue.shift()!;
      submit();
      yield batch;
    }
  }

  return { batchesPerEpoch, epoch, close: () => pool?.close() };
}
