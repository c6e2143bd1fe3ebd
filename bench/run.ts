/**
 * The run behind `deno task bench` (`main.ts` parses the flags): find what the machine offers,
 * write the shared inputs, measure the rows one after the other and print them.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { onnxruntimeAvailable } from "../lib/engine/onnx.ts";
import { probeWebGpuAdapter } from "../lib/engine/tfjs.ts";
import { writeInputs } from "./inputs.ts";
import { measureRow, type RowResult, start } from "./pair.ts";
import { type Environment, planRows, type Row } from "./plan.ts";
import type { Options } from "./main.ts";
import { describeMachine, machineLines, rowLine, sectionLines } from "./report.ts";

const here = (path: string) => new URL(path, import.meta.url).pathname;

/** What this machine offers: PyTorch, a GPU, onnxruntime, the raccoon photos. */
async function findEnvironment(tmpDir: string) {
  const probe = await start(null);
  let torch = "skip" in probe ? probe.skip : "";
  let cuda = false;
  if (!("skip" in probe)) {
    const hello = await probe.hello;
    torch = `${hello.torch} (torchvision ${hello.torchvision})`;
    cuda = Boolean(hello.cuda);
    await probe.close();
  }
  const adapter = await probeWebGpuAdapter();
  const noGpu = adapter === null
    ? "no GPU (no WebGPU adapter)"
    : adapter.isFallbackAdapter
    ? `no GPU (software adapter: ${adapter.description})`
    : null;
  const built = ["../lib/engine/onnx_engine.ts", "../lib/export/onnx.ts"].every((f) =>
    existsSync(here(f))
  );
  const ort = built ? await onnxruntimeAvailable() : null;
  const noOnnx = !built
    ? "onnxruntime engine not built yet"
    : ort!.ok
    ? null
    : `onnxruntime-node does not load: ${ort!.error}`;
  const voc = here("../../shared/data/raccoon/VOC");
  const env: Environment = {
    noGpu,
    torchGpuDevice: cuda ? "cuda" : "cpu",
    noOnnx,
    noTorch: "skip" in probe ? probe.skip : null,
    voc: existsSync(voc) ? { path: voc } : { skip: `needs ${voc} (not found)` },
    cores: navigator.hardwareConcurrency,
    tmpDir,
    inputs: await writeInputs(tmpDir),
  };
  const machine = await describeMachine({
    torch,
    gpu: noGpu ?? `${adapter!.description || adapter!.vendor}`,
    onnxruntime: noOnnx ?? `onnxruntime-node ${ort!.version}`,
  });
  return { env, machine };
}

const rowText = (r: Row) => `${r.section} ${r.name} ${r.engine}`.toLowerCase();

/** Runs the rows `opts` selects; resolves to the exit code. */
export async function runBench(opts: Options): Promise<number> {
  const tmpDir = await Deno.makeTempDir({ prefix: "ssd-bench-" });
  try {
    const { env, machine } = await findEnvironment(tmpDir);
    const rows = planRows(env).filter((r) => rowText(r).includes(opts.filter));
    if (rows.length === 0) {
      console.error(`error: bench: no row matches --filter ${opts.filter}`);
      return 2;
    }
    if (!opts.json) console.log(machineLines(machine, opts.runs).join("\n"));
    const results: RowResult[] = [];
    for (const [i, row] of rows.entries()) {
      const t0 = performance.now();
      console.error(`[${i + 1}/${rows.length}] ${row.section}: ${row.name} (${row.engine})`);
      const result = opts.quick && row.slow
        ? { row, oursSkipped: "left out by --quick" }
        : await measureRow(row, opts.runs);
      console.error(`  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      if (!opts.json && row.section !== rows[i - 1]?.section) {
        console.log(sectionLines(row.section).join("\n"));
      }
      if (!opts.json) console.log(rowLine(result));
      results.push(result);
    }
    machine.loadAtEnd = Deno.loadavg().map((v) => +v.toFixed(2));
    if (opts.json) console.log(JSON.stringify({ machine, runs: opts.runs, rows: results }));
    else console.log(`\nLoad average at the end: ${machine.loadAtEnd.join(", ")}.`);
    return 0;
  } finally {
    await Deno.remove(tmpDir, { recursive: true });
  }
}
