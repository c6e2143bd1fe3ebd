/**
 * The library as a user's script runs it: `loadDetector` starts the default backend when none
 * is set, and each missing permission is said once, naming the flag (README, "As a library").
 * Each case is a fresh Deno process, since a backend, once started, stays for the process.
 */
import assert from "node:assert/strict";
import { CONFIG } from "./cli.ts";

const SCRIPT = `
import { loadDetector, readImage } from "${new URL("../lib/mod.ts", import.meta.url).href}";
const detector = await loadDetector("face-slim-320");
const image = await readImage("${new URL("../samples/pair.jpg", import.meta.url).pathname}");
console.log((await detector.detect(image)).length);
detector.dispose();
`;

async function runScript(...permissions: string[]) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/app.ts`, SCRIPT);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", `--config=${CONFIG}`, ...permissions, `${dir}/app.ts`],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadDetector() without initBackend starts the default backend and detects", async () => {
  const r = await runScript("-P");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "2");
  assert.equal(r.stderr, "");
});

Deno.test("without --allow-write and --allow-sys wasm runs on one thread and says so once", async () => {
  const r = await runScript("--allow-read", "--allow-env", "--allow-ffi");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "2");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^warning: wasm runs on 1 thread: .*--allow-write .*--allow-sys/);
});

Deno.test("without --allow-read the first call fails with one error naming the flag", async () => {
  const r = await runScript("--allow-env", "--allow-ffi");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /needs --allow-read/);
  assert.doesNotMatch(r.stderr, /Aborted|allow-all/);
});
