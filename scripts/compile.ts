/**
 * `deno task compile`: builds the single `ssd` binary (`dist/ssd`) with the shipped weights,
 * font and sample photos inside. `deno compile` needs Deno's `denort` runtime, which it
 * downloads from dl.deno.land, or takes from `DENORT_BIN`; when neither works this says so in
 * one line and exits 1.
 *
 *   deno task compile [--target <triple>] [--output <file>]
 */
import { flag } from "./args.ts";
const output = flag("--output", "dist/ssd");
const target = flag("--target", "");
const denort = Deno.env.get("DENORT_BIN");
if (denort !== undefined) {
  try {
    await Deno.stat(denort);
  } catch {
    console.error(`error: ${denort}: DENORT_BIN does not name a file`);
    Deno.exit(1);
  }
}
await Deno.mkdir(output.replace(/\/[^/]*$/, "") || ".", { recursive: true });
const command = new Deno.Command(Deno.execPath(), {
  args: [
    "compile",
    "-q",
    "-P", // deno.json's permissions.default, as `deno task ssd` (ssd spawns no process: no run)
    "--include",
    "assets",
    "--include",
    "weights",
    "--include",
    "lib/data/loader_worker.ts",
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    "main.ts",
  ],
  stdout: "inherit",
  stderr: "piped",
  env: { NO_COLOR: "1" },
});
const { code, stderr } = await command.output();
const text = new TextDecoder().decode(stderr);
if (code === 0) {
  console.error(`compiled ${output}`);
  Deno.exit(0);
}
if (/denort|dl\.deno\.land|dns error|error sending request/i.test(text)) {
  console.error(
    "error: deno compile could not get its denort runtime (it downloads it from dl.deno.land, " +
      "which this machine cannot reach); set DENORT_BIN to a local denort binary and retry",
  );
} else {
  const first = text.split("\n").find((l) => /error/i.test(l)) ?? text.trim().split("\n")[0];
  console.error(`error: deno compile failed: ${first}`);
}
Deno.exit(1);
