/**
 * `deno task compile` where no `denort` runtime can be had: one line naming what is missing
 * and what to do, exit 1, no binary left behind. (A real compile needs `denort`, which this
 * machine cannot download; `DENORT_BIN` pointing at a missing file takes the same path fast.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoRunArgs, oneLineError } from "./cli.ts";

const SCRIPT = new URL("../scripts/compile.ts", import.meta.url).pathname;

Deno.test("compile: a DENORT_BIN that names no file is one line, exit 1, nothing written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const output = join(dir, "dist", "ssd");
    const missing = join(dir, "no-such-denort");
    const r = await new Deno.Command(Deno.execPath(), {
      args: [...denoRunArgs("--allow-run"), SCRIPT, "--output", output],
      env: { DENORT_BIN: missing },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 1);
    const stderr = new TextDecoder().decode(r.stderr);
    oneLineError(stderr, /DENORT_BIN/);
    assert.ok(stderr.includes(missing), stderr);
    await assert.rejects(Deno.stat(output));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
