/**
 * The loader's Web Worker: receives `{ id, job }` ({@link SampleJob}), answers
 * `{ id, sample }` with the buffers transferred, or `{ id, error }` with the error's name,
 * message and, for a `FileError`, its file and reason.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { FileError } from "../errors.ts";
import { prepareSample, type SampleJob } from "./loader_sample.ts";

self.onmessage = async (event: MessageEvent<{ id: number; job: SampleJob }>) => {
  const { id, job } = event.data;
  try {
    const sample = await prepareSample(job);
    const transfer = [sample.image.buffer, sample.boxes.buffer, sample.labels.buffer];
    self.postMessage({ id, sample }, { transfer: transfer as ArrayBuffer[] });
  } catch (err) {
    const e = err as Error;
    self.postMessage({
      id,
      error: {
        name: e?.name ?? "Error",
        message: e?.message ?? String(err),
        file: err instanceof FileError ? err.file : undefined,
        reason: err instanceof FileError ? err.reason : undefined,
      },
    });
  }
};
