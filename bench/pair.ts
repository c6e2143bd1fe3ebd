/**
 * Measures one row: ours and PyTorch's each in a fresh process, each warmed up by its setup,
 * then single measurements in alternation, ours, PyTorch's, ours, PyTorch's…, so that load
 * from other processes falls on both sides alike and cancels in each pair's ratio.
 *
 * @module
 */
import type { Row, Side } from "./plan.ts";
import type { Measurement, Reply } from "./protocol.ts";
import { pairedRatio, summarize, type Summary } from "./stats.ts";
import { WorkerProcess } from "./worker_process.ts";

/** One side's figures over the row. */
export interface SideResult {
  /** Wall ms of each measurement, in order. */
  samples: number[];
  ms: Summary;
  /** Median cores kept busy (process CPU time / wall time). */
  cpuPerWall: number;
  /** Largest resident memory over the measurements, MiB. */
  rssMiB: number;
  /** Live tensors after the last measurement minus after the warm-up (ours, tfjs rows). */
  tensorGrowth?: number;
  /** The task's own figures of the last measurement (`kept`, `AP`, `images`…). */
  figures: Record<string, number>;
}

/** One row's outcome: what ran, and why the rest did not. */
export interface RowResult {
  row: Row;
  ours?: SideResult;
  torch?: SideResult;
  /** ours / PyTorch per pair. */
  ratio?: Summary;
  /** Why ours did not run. */
  oursSkipped?: string;
  /** Why PyTorch's did not run (absent when the row has no PyTorch counterpart). */
  torchSkipped?: string;
}

const REPO = new URL("..", import.meta.url).pathname;
/**
 * glibc's malloc for PyTorch's worker: keep freed memory instead of returning it to the OS. By
 * default each large tensor is a fresh mmap and every page of it a fault, which on this VM made
 * PyTorch's CPU time per face-slim-320 forward 2.4× longer (1,318 faults, 65 ms vs 0, 27 ms);
 * ours (wasm) reuses its heap. Setting it makes PyTorch faster, never ours.
 */
const TORCH_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(2 ** 32),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 32),
};
const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
];
const WORKER_ARGS: Record<string, string[]> = {
  none: ["--backend", "none"],
  wasm1: ["--backend", "wasm", "--threads", "1"],
  wasm2: ["--backend", "wasm", "--threads", "2"],
  webgpu: ["--backend", "webgpu"],
};

/**
 * Starts the process of one side (`side` null: PyTorch's); its hello error, if any, comes back
 * as a skip reason.
 */
export async function start(side: Side | null): Promise<WorkerProcess | { skip: string }> {
  let worker: WorkerProcess;
  try {
    worker = side === null
      ? new WorkerProcess(
        "PyTorch",
        "/usr/bin/python3",
        [`${REPO}bench/torch_worker.py`],
        TORCH_ENV,
      )
      : new WorkerProcess("ours", Deno.execPath(), [
        "run",
        ...PERMISSIONS,
        "--config",
        `${REPO}deno.json`,
        `${REPO}bench/worker.ts`,
        ...WORKER_ARGS[side.worker ?? "none"],
      ]);
  } catch (err) {
    const missing = err instanceof Deno.errors.NotFound && side === null;
    return { skip: missing ? "torch missing: no /usr/bin/python3" : (err as Error).message };
  }
  const hello = await worker.hello;
  if (hello.error) {
    await worker.close();
    return { skip: hello.error };
  }
  return worker;
}

function check(reply: Reply, side = "ours"): Measurement {
  if (reply.error) throw new Error(`${side}: ${reply.error}`);
  return reply as unknown as Measurement;
}

function sideResult(warmUp: Measurement, runs: Measurement[]): SideResult {
  const last = runs.at(-1)!;
  const figures: Record<string, number> = {};
  for (const [k, v] of Object.entries(last)) {
    if (!["ms", "cpuPerWall", "rssMiB", "tensors"].includes(k)) figures[k] = v as number;
  }
  return {
    samples: runs.map((m) => m.ms),
    ms: summarize(runs.map((m) => m.ms)),
    cpuPerWall: summarize(runs.map((m) => m.cpuPerWall)).median,
    rssMiB: Math.max(...runs.map((m) => m.rssMiB)),
    tensorGrowth: last.tensors === undefined ? undefined : last.tensors - warmUp.tensors!,
    figures,
  };
}

/** Runs `row` with `runs` measurements a side. */
export async function measureRow(row: Row, runs: number): Promise<RowResult> {
  const result: RowResult = { row };
  if ("skip" in row.ours) return { ...result, oursSkipped: row.ours.skip };
  const ours = await start(row.ours);
  if ("skip" in ours) return { ...result, oursSkipped: ours.skip };
  let torch: WorkerProcess | null = null;
  try {
    const oursWarm = await ours.call({ op: "setup", ...row.ours.spec });
    if (oursWarm.error) return { ...result, oursSkipped: `failed: ours: ${oursWarm.error}` };
    let torchWarm: Reply | null = null;
    if (row.torch && "skip" in row.torch) result.torchSkipped = row.torch.skip;
    else if (row.torch) {
      const started = await start(null);
      if ("skip" in started) {
        result.torchSkipped = started.skip;
      } else {
        torch = started;
        torchWarm = await torch.call({ op: "setup", ...row.torch.spec });
        if (torchWarm.error) result.torchSkipped = torchWarm.error;
      }
    }
    const paired = torch !== null && !torchWarm?.error;
    const a: Measurement[] = [], b: Measurement[] = [];
    for (let i = 0; i < runs; i++) {
      a.push(check(await ours.call({ op: "measure" })));
      if (paired) b.push(check(await torch!.call({ op: "measure" }), "PyTorch"));
    }
    result.ours = sideResult(check(oursWarm), a);
    if (paired) {
      result.torch = sideResult(check(torchWarm!), b);
      result.ratio = pairedRatio(result.ours.samples, result.torch.samples);
    }
    return result;
  } catch (err) {
    return { ...result, oursSkipped: `failed: ${(err as Error).message}` };
  } finally {
    await Promise.all([ours.close(), torch?.close()]);
  }
}
