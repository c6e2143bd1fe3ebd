/**
 * How `deno task bench` prints: a Markdown table per section, a row as soon as it is measured
 * (a full run takes a while), and the machine it ran on.
 *
 * @module
 */
import type { RowResult, SideResult } from "./pair.ts";
import type { Summary } from "./stats.ts";

/** The machine and the load it carried, as the report's header states them. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** 1, 5 and 15 minute load averages at the start (and end, once known). */
  loadAtStart: number[];
  loadAtEnd?: number[];
  deno: string;
  torch: string;
  gpu: string;
  onnxruntime: string;
}

/**
 * The machine this process runs on; `torch`, `gpu` and `onnxruntime` as found by the driver.
 * The CPU's name comes from `/proc/cpuinfo` through `cat` (Deno reads `/proc` only with
 * `--allow-all`).
 */
export async function describeMachine(
  found: Pick<Machine, "torch" | "gpu" | "onnxruntime">,
): Promise<Machine> {
  let cpu = "unknown CPU";
  try {
    const out = await new Deno.Command("cat", { args: ["/proc/cpuinfo"], stderr: "null" }).output();
    const info = new TextDecoder().decode(out.stdout);
    cpu = /model name\s*:\s*(.+)/.exec(info)?.[1].trim() ?? cpu;
  } catch { /* not Linux */ }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    loadAtStart: Deno.loadavg().map((v) => +v.toFixed(2)),
    deno: Deno.version.deno,
    ...found,
  };
}

/** The header lines of the Markdown report. */
export function machineLines(m: Machine, runs: number): string[] {
  return [
    `# ssd benchmarks`,
    "",
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; load average at start ` +
    `${m.loadAtStart.join(", ")} (1, 5, 15 min). Deno ${m.deno}; PyTorch: ${m.torch}; ` +
    `GPU: ${m.gpu}; onnxruntime: ${m.onnxruntime}.`,
    `Each row: ours and PyTorch's in two fresh processes, warmed up, then ${runs} single ` +
    "measurements of each in alternation; ms as median (min–max); the ratio is the median of " +
    "the per-pair ratios (min–max). cores = process CPU time / wall time. PyTorch's malloc " +
    "keeps freed memory (MALLOC_MMAP_THRESHOLD_; see bench/pair.ts).",
  ];
}

const TABLE = [
  "| case | engines | ours ms | PyTorch ms | ours ÷ PyTorch | cores ours / PyTorch | " +
  "tensors Δ | RSS MiB ours / PyTorch | notes |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
];

/** The lines that open a section's table. */
export function sectionLines(section: string): string[] {
  return ["", `## ${section}`, "", ...TABLE];
}

function ms(v: number): string {
  return v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
}

function spread(s: Summary, f: (v: number) => string, unit = ""): string {
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

function notes(r: RowResult): string {
  const out: string[] = [];
  const o = r.ours?.figures ?? {}, t = r.torch?.figures ?? {};
  for (const [k, v] of Object.entries(o)) {
    if (k === "loss") continue; // random weights: the two losses are not comparable
    const show = (x: number) => Number.isInteger(x) ? String(x) : x.toFixed(4);
    out.push(k in t ? `${k} ${show(v)} / ${show(t[k])}` : `${k} ${show(v)}`);
  }
  if (r.ours && o.images) {
    out.push(`${(o.images / (r.ours.ms.median / 1000)).toFixed(1)} images/s`);
  }
  if (r.torchSkipped) out.push(`PyTorch: ${r.torchSkipped}`);
  return out.join("; ");
}

const pair = (a?: SideResult, b?: SideResult, f = (s: SideResult) => String(s)) =>
  a ? `${f(a)}${b ? ` / ${f(b)}` : ""}` : "–";

/** One table line of a row. */
export function rowLine(r: RowResult): string {
  const cells = [
    r.row.name,
    r.row.engine,
    r.ours ? spread(r.ours.ms, ms) : (r.oursSkipped ?? "–"),
    r.torch ? spread(r.torch.ms, ms) : "–",
    r.ratio ? spread(r.ratio, (v) => v.toFixed(2), "×") : "–",
    pair(r.ours, r.torch, (s) => s.cpuPerWall.toFixed(2)),
    r.ours?.tensorGrowth === undefined ? "–" : String(r.ours.tensorGrowth),
    pair(r.ours, r.torch, (s) => String(s.rssMiB)),
    notes(r),
  ];
  return `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
}
