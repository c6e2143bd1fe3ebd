/**
 * `deno task bench`: speed of ours against PyTorch's on this machine, row by row, with the
 * two sides measured in alternation so that a busy machine slows both alike (see `pair.ts`).
 * Results go to stdout (Markdown tables, or `--json`); progress to stderr.
 *
 * @module
 */
const USAGE = `Usage: deno task bench [options]

Times our models, training step, NMS, matching, evaluation and data loader; where PyTorch
(/usr/bin/python3 with torch) has a counterpart, it runs in its own process beside ours and the
two are measured in alternation (ours, PyTorch, ours, PyTorch, …), each warmed up first.
Prints median (min–max) ms of each side and the median ratio of the pairs (min–max).

Options:
  --runs N         measurements per side and row (default 5; 3 with --quick)
  --quick          3 measurements per row, and only the cheaper rows of each section
                   (forward at batch 1, the tiny training steps, the loader with 2
                   workers); the others print "left out by --quick"
  --filter TEXT    only the rows whose section, case or engines contain TEXT
                   (case-insensitive), e.g. ssd300, "wasm ×1", nms, loader
  --json           one JSON object with every sample instead of Markdown tables
  -h, --help       print this and exit
`;

/** What the flags ask for. */
export interface Options {
  runs: number;
  quick: boolean;
  json: boolean;
  filter: string;
}

/** The options, or the usage error to print. */
function parseArgs(args: string[]): Options | { error: string } | "help" {
  let runs: number | undefined, quick = false, json = false, filter = "";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h" || a === "--help") return "help";
    else if (a === "--quick") quick = true;
    else if (a === "--json") json = true;
    else if (a === "--filter" && i + 1 < args.length) filter = args[++i].toLowerCase();
    else if (a === "--runs" && i + 1 < args.length) {
      runs = Number(args[++i]);
      if (!Number.isInteger(runs) || runs < 1) {
        return { error: `--runs must be a positive integer, got ${args[i]}` };
      }
    } else return { error: `unknown option or missing value: ${a}` };
  }
  return { runs: runs ?? (quick ? 3 : 5), quick, json, filter };
}

const parsed = parseArgs(Deno.args);
if (parsed === "help") {
  console.log(USAGE);
} else if ("error" in parsed) {
  console.error(`error: bench: ${parsed.error}\n\n${USAGE}`);
  Deno.exitCode = 2;
} else {
  const { runBench } = await import("./run.ts"); // loaded here so that --help is instant
  Deno.exitCode = await runBench(parsed);
}
