import assert from "node:assert/strict";
import { ssd } from "./cli.ts";

Deno.test("ssd --help lists every command and exits 0", async () => {
  const r = await ssd("--help");
  assert.equal(r.code, 0);
  for (const name of ["priors", "data", "detect", "eval", "doctor"]) {
    assert.match(r.stdout, new RegExp(`^  ${name}\\b`, "m"));
  }
});

Deno.test("ssd without a command, or with an unknown one, is a usage error (exit 2)", async () => {
  const none = await ssd();
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: ssd/);
  const unknown = await ssd("frobnicate");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const sub = await ssd("data");
  assert.equal(sub.code, 2);
});

Deno.test("ssd --version prints the version", async () => {
  const r = await ssd("--version");
  assert.equal(r.code, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
});
