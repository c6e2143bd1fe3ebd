/** Runs the `ssd` CLI as a user would, for the CLI tests. */
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The project's deno.json: its `permissions.default` set is what every task runs with. */
export const CONFIG: string = new URL("../deno.json", import.meta.url).pathname;

/**
 * `deno run` arguments (before the script) with the permission set of `deno task ssd`
 * (`-P`: deno.json's `permissions.default`; `-q` hides Deno's note that permission sets are
 * experimental), from any working folder.
 */
export function denoRunArgs(...extra: string[]): string[] {
  return ["run", "-q", "-P", `--config=${CONFIG}`, ...extra];
}

/** What one run of the CLI printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns `deno run -P main.ts …args`, as `deno task ssd` does. */
export function ssd(...args: string[]): Promise<CliResult> {
  return ssdIn(undefined, ...args);
}

/** {@link ssd} run in the folder `cwd` (where a default `runs/` folder goes). */
export async function ssdIn(cwd: string | undefined, ...args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    cwd,
    args: [...denoRunArgs(), MAIN, ...args],
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
