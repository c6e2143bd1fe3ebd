/** Runs the `ssd` CLI as a user would, for the CLI tests. */
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** What one run of the CLI printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns `deno run <the permissions of deno task ssd> main.ts …args`. */
export function ssd(...args: string[]): Promise<CliResult> {
  return ssdIn(undefined, ...args);
}

/** {@link ssd} run in the folder `cwd` (where a default `runs/` folder goes). */
export async function ssdIn(cwd: string | undefined, ...args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    cwd,
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "--allow-run",
      MAIN,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts stderr is exactly one line and matches `pattern`. */
export function oneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`);
  assert.match(lines[0], pattern);
}
