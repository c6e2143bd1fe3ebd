/**
 * The flag reader of the project's scripts and benchmarks (the CLI itself uses commander):
 * `flag("--runs", "10")` is the value after `--runs` in `Deno.args`, else the fallback.
 */
export function flag(name: string, fallback: string): string;
export function flag(name: string): string | undefined;
export function flag(name: string, fallback?: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}
