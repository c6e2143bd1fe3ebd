/**
 * The line protocol between `bench/main.ts` and its worker processes (`bench/worker.ts`, ours;
 * `bench/torch_worker.py`, PyTorch's). A worker reads one JSON request per stdin line and
 * answers each with one stdout line `@bench {json}`; other stdout lines are noise (library
 * banners) and are ignored. On start a worker sends a hello before any request.
 *
 * Requests: `{"op": "setup", ...TaskSpec}` builds a task and runs it once (warm-up);
 * `{"op": "measure"}` runs it once more and answers a {@link Measurement};
 * `{"op": "end"}` frees it. Any failure answers `{"error": "…"}`.
 *
 * @module
 */

/** The prefix of every answer line. */
export const REPLY_PREFIX = "@bench ";

/** What one side runs for a row (the task's own parameters ride along). */
export interface TaskSpec {
  task:
    | "forward"
    | "train_step"
    | "conv"
    | "nms"
    | "match"
    | "loss_grads"
    | "coco_eval"
    | "voc_eval"
    | "loader";
  [param: string]: unknown;
}

/** The answer to `measure` (plus the task's own figures, such as `kept` boxes). */
export interface Measurement {
  ms: number;
  /** Process CPU time over wall time: the cores the run kept busy (2 = both of 2). */
  cpuPerWall: number;
  /** Resident memory of the worker after the run, MiB. */
  rssMiB: number;
  /** Live tfjs tensors after the run (ours, tfjs tasks only). */
  tensors?: number;
  [figure: string]: number | undefined;
}

/** One of our tasks, built by a `*_task.ts` setup from its {@link TaskSpec}. */
export interface Task {
  /** Does the work once, results read back; may return figures to check (`kept: 200`). */
  run(): Promise<Record<string, number> | void>;
  /** Frees what the setup made. */
  end(): Promise<void> | void;
}

/** An answer line: a result, or the worker's one-line failure. */
export type Reply = Record<string, unknown> & { error?: string };

/** Writes one answer line to stdout. */
export function reply(answer: Reply): void {
  console.log(REPLY_PREFIX + JSON.stringify(answer));
}

/** The lines of a byte stream, without their line ends. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  if (rest) yield rest;
}
