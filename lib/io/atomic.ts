/**
 * Writing files so that a reader never sees half of one and a failed write loses nothing: the
 * bytes go to a temporary file beside the target, which is then renamed over it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.json`, '{"ok":true}');
 * assert.equal(await Deno.readTextFile(`${dir}/a.json`), '{"ok":true}');
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.json"]);
 * ```
 *
 * @module
 */

import { resolve } from "node:path";
import { FileError, UsageError } from "../errors.ts";

function cannotWrite(path: string, err: unknown): FileError {
  const why = err instanceof Deno.errors.NotFound
    ? "its folder does not exist"
    : err instanceof Deno.errors.IsADirectory
    ? "it is a folder"
    : err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable
    ? "permission denied"
    : err instanceof Error
    ? err.message
    : String(err);
  return new FileError(path, `cannot write: ${why}`, { cause: err });
}

function tempName(path: string): string {
  return `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/**
 * Writes `data` (bytes or UTF-8 text) to `path` through a temporary file and a rename.
 *
 * @throws {FileError} naming `path` when it cannot be written; the old file is then intact.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempName(path);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw cannotWrite(path, err);
  }
}

/** Synchronous twin of {@link writeFileAtomic}, for start-up code that cannot await. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempName(path);
  try {
    if (typeof data === "string") Deno.writeTextFileSync(tmp, data);
    else Deno.writeFileSync(tmp, data);
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* nothing was written */ }
    throw cannotWrite(path, err);
  }
}

/**
 * Creates an output folder (and its parents) if needed.
 *
 * @throws {FileError} naming `dir` when it cannot be a folder (a file is there, no permission).
 */
export async function makeOutputDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    const why = err instanceof Deno.errors.AlreadyExists
      ? "a file of that name is in the way"
      : err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable
      ? "permission denied"
      : (err as Error).message;
    throw new FileError(dir, `cannot create the output folder: ${why}`, { cause: err });
  }
}

/**
 * Refuses to write any of `outputs` over one of `inputs` (compared as real paths): `--out .`
 * beside the photos, or a results file naming an input, would otherwise replace them.
 *
 * @throws {UsageError} naming the first output that is an input.
 */
export function refuseOverwriting(inputs: string[], outputs: string[]): void {
  const real = (p: string) => {
    try {
      return Deno.realPathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const inputSet = new Set(inputs.map(real));
  const clash = outputs.find((o) => inputSet.has(real(o)));
  if (clash !== undefined) {
    throw new UsageError(
      `${clash}: an output would overwrite an input image; write the outputs somewhere else`,
    );
  }
}
