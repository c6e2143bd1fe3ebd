/**
 * `deno task bench`: speed figures, with PyTorch measured in the same run on the same machine
 * for the ratios. Each part runs in its own process (a tfjs backend starts once per process).
 *
 *   deno task bench [--backend wasm|webgpu|cpu] [--runs 10] [--quick]
 *
 * Parts: model forward passes (ours vs PyTorch), evaluation of 5,000 images, the data loader,
 * one SGD training step at batch 16 (ours vs PyTorch).
 * Without `/usr/bin/python3` + torch the ratios are left out, with the reason printed.
 */
import { flag } from "../scripts/args.ts";
const args = Deno.args;
const backend = flag("--backend", "wasm");
const quick = args.includes("--quick");
const runs = flag("--runs", quick ? "3" : "10");
const threads = String(navigator.hardwareConcurrency);
const here = new URL(".", import.meta.url).pathname;

async function run(cmd: string, cmdArgs: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args: cmdArgs, stdout: "piped", stderr: "piped" })
      .output();
    const out = new TextDecoder().decode(r.stdout);
    if (!r.success) return { ok: false, out: new TextDecoder().decode(r.stderr).trim() };
    return { ok: true, out };
  } catch (err) {
    return { ok: false, out: (err as Error).message };
  }
}

const deno = (script: string, extra: string[]) =>
  run(Deno.execPath(), ["run", "-A", `${here}${script}`, ...extra]);

console.log(
  `# ssd benchmarks (${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno})\n`,
);

// 1. Forward passes, batch 1, ours vs PyTorch.
const [ours, torch] = [
  await deno("forward_bench.ts", ["--backend", backend, "--runs", runs]),
  await run("/usr/bin/python3", [`${here}torch_forward.py`, "--threads", threads, "--runs", runs]),
];
if (!ours.ok) {
  console.log(`forward: ours failed: ${ours.out.split("\n").at(-1)}`);
} else {
  const o = JSON.parse(ours.out);
  const t = torch.ok ? JSON.parse(torch.out) : null;
  if (!t) console.log(`(no PyTorch ratios: ${torch.out.split("\n").at(-1)})`);
  console.log(
    `## forward pass, batch 1: ours on ${o.backend}${o.threads ? ` ×${o.threads}` : ""}` +
      (t ? ` vs PyTorch ${t.torch} CPU ×${t.threads} threads` : ""),
  );
  console.log("| model | params | ours ms | PyTorch ms | ours / PyTorch | tensors leaked |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const [name, m] of Object.entries(o.models) as [string, Record<string, number>][]) {
    const tm = t?.models?.[name]?.ms as number | undefined;
    console.log(
      `| ${name} | ${(m.params / 1e6).toFixed(2)}M | ${m.ms.toFixed(1)} | ${
        tm?.toFixed(1) ?? "–"
      } | ` +
        `${tm ? (m.ms / tm).toFixed(2) + "×" : "–"} | ${m.tensorGrowth} |`,
    );
  }
  console.log(`RSS after the runs: ${o.rssMiB} MiB\n`);
}

// 2. Evaluation at scale.
const ev = await deno("eval_bench.ts", []);
console.log("## evaluation, 5,000 images\n" + (ev.ok ? ev.out.trim() : `failed: ${ev.out}`) + "\n");

// 3. The data loader (decode + augment + resize + normalize), needs ../shared/data/raccoon.
const loaderArgs = ["--epochs", "1", "--workers", quick ? "2" : "0,1,2"];
const ld = await deno("loader_bench.ts", loaderArgs);
console.log(
  "## data loader, 160 raccoon photos\n" +
    (ld.ok ? ld.out.trim() : `skipped: ${ld.out.split("\n").at(-1)}`),
);

// 4. One SGD training step, batch 16, ours vs PyTorch (tiny and face-slim-320, random weights).
// Both sides run on every core: another busy process skews them (PyTorch's threads most).
const stepRuns = quick ? "2" : "5";
const [oursStep, torchStep] = [
  await deno("train_step_bench.ts", [
    "--backend",
    backend,
    "--threads",
    threads,
    "--runs",
    stepRuns,
  ]),
  await run("/usr/bin/python3", [
    `${here}torch_train_step.py`,
    "--threads",
    threads,
    "--runs",
    stepRuns,
  ]),
];
if (!oursStep.ok) {
  console.log(`\ntraining step: ours failed: ${oursStep.out.split("\n").at(-1)}`);
} else {
  const o = JSON.parse(oursStep.out);
  const t = torchStep.ok ? JSON.parse(torchStep.out) : null;
  if (!t) console.log(`\n(no PyTorch ratios: ${torchStep.out.split("\n").at(-1)})`);
  console.log(
    `\n## training step, batch 16: ours on ${o.backend}${o.threads ? ` ×${o.threads}` : ""}` +
      (t ? ` vs PyTorch ${t.torch} CPU ×${t.threads} threads` : ""),
  );
  console.log("| model | ours ms | PyTorch ms | ours / PyTorch | tensors leaked |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const [name, m] of Object.entries(o.models) as [string, Record<string, number>][]) {
    const tm = t?.models?.[name]?.ms as number | undefined;
    console.log(
      `| ${name} | ${m.ms.toFixed(0)} | ${tm?.toFixed(0) ?? "–"} | ` +
        `${tm ? (m.ms / tm).toFixed(2) + "×" : "–"} | ${m.tensorGrowth} |`,
    );
  }
}
