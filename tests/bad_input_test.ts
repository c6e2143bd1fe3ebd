/**
 * Every bad input of the corpus (`fixtures/bad/make_bad_inputs.ts`: broken images, annotation
 * defects, broken and malicious weights, hostile command lines) through the CLI: no crash (no
 * stack trace, no "Uncaught", no OS wording, no advice to grant everything), exit 1 (a bad
 * file) or 2 (usage), one `error:` line per bad file naming it, every input byte-identical
 * afterwards and no file left behind (temporary or otherwise). Unusual inputs that are fine
 * (grey and 16-bit PNGs, EXIF rotations, odd names) exit 0.
 *
 * The corpus is written into a temporary folder at test time; runs that take many files (one
 * `detect` over all the broken images, one `data check` over a folder of bad annotations) are
 * one process each, the rest run a few at a time.
 */
import assert from "node:assert/strict";
import { type BadRun, caseNames, makeBadInputs } from "../fixtures/bad/make_bad_inputs.ts";
import { displayPath } from "../lib/errors.ts";
import { type CliResult, ssdIn } from "./cli.ts";

/** What may never reach a user's terminal. */
const FORBIDDEN: [RegExp, string][] = [
  [/Uncaught/, "an uncaught error"],
  [/^\s+at /m, "a stack trace"],
  [/os error \d+/, "an OS error's wording"],
  [/allow-all|--allow-|-A\b/, "advice to grant permissions"],
  [/panicked|Stack backtrace/, "a Deno panic"],
  [/is not a function|Cannot read properties|undefined/, "an internal name"],
];

/** commander's hint after a usage error it printed itself. */
const HELP_HINT = "(run with --help for usage)";

/** sha-256 of every file under `dir` (symlinks as their targets, folders as themselves). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (path: string) => {
    for await (const e of Deno.readDir(path)) {
      const p = `${path}/${e.name}`;
      if (e.isSymlink) out.set(p, `-> ${await Deno.readLink(p)}`);
      else if (e.isDirectory) out.set(p, "folder"), await walk(p);
      else {
        const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(p));
        out.set(p, [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join(""));
      }
    }
  };
  await walk(dir);
  return out;
}

/** Runs `task` over `items`, `limit` at a time, keeping the order of the results. */
async function pool<T, R>(items: T[], limit: number, task: (t: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

/** The checks every run gets; the message says which run and shows what it printed. */
function checkRun(run: BadRun, r: CliResult): void {
  const show = `\n$ ssd ${run.args.map((a) => JSON.stringify(a)).join(" ")}\n` +
    `exit ${r.code}\n--- stderr\n${r.stderr}--- stdout\n${r.stdout.slice(0, 2000)}`;
  assert.equal(r.code, run.code, `exit code${show}`);
  for (const [pattern, what] of FORBIDDEN) {
    assert.doesNotMatch(r.stderr, pattern, `${what} on stderr${show}`);
  }
  const lines = r.stderr.split("\n").filter((l) => l !== "" && l !== HELP_HINT);
  for (const line of lines) {
    assert.match(line, /^(error|note|warning): /, `a stray stderr line${show}`);
  }
  const errors = lines.filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, run.stderr.length, `one error line per bad file${show}`);
  for (const file of run.stderr) {
    const named = run.code === 1
      ? errors.filter((l) => l.startsWith(`error: ${displayPath(file)}: `))
      : errors.filter((l) => l.includes(displayPath(file)));
    assert.equal(named.length, 1, `one error line naming ${displayPath(file)}${show}`);
  }
  const report = r.stdout.split("\n");
  for (const file of run.stdout ?? []) {
    const line = report.find((l) => l.startsWith(`${file}: `) && !l.includes(": warning: "));
    assert.ok(line !== undefined, `a report line naming ${file} as an error${show}`);
  }
  if (run.says !== undefined) assert.match(r.stderr, run.says, `what the error says${show}`);
}

Deno.test("bad inputs: every case exits 1 or 2 with one line naming the file; inputs untouched", async (t) => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "ssd-bad-inputs-" }));
  try {
    const runs = await makeBadInputs(dir);
    const cases = runs.reduce((n, run) => n + caseNames(run).length, 0);
    assert.ok(cases >= 150, `the corpus has ${cases} cases`);
    const before = await snapshot(dir);
    const started = performance.now();
    const limit = Math.min(4, (navigator.hardwareConcurrency ?? 2) + 1);
    const results = await pool(runs, limit, (run) => ssdIn(dir, ...run.args));
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    for (const [i, run] of runs.entries()) {
      await t.step(`${run.name} (${caseNames(run).length})`, () => checkRun(run, results[i]));
    }
    await t.step("every input is byte-identical and no file was left behind", async () => {
      const after = await snapshot(dir);
      const added = [...after.keys()].filter((p) => !before.has(p));
      assert.deepEqual(added, [], "files left behind (temporary files, outputs of failed runs)");
      const changed = [...before].filter(([p, h]) => after.get(p) !== h).map(([p]) => p);
      assert.deepEqual(changed, [], "inputs changed or removed");
    });
    console.log(`${cases} bad-input cases in ${runs.length} ssd runs, ${seconds} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
