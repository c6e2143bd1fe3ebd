/**
 * Writing an export so that nothing half-made or unchecked is left at the target: the bytes go
 * to a temporary file beside it, a check reads that file back (onnxruntime loads the ONNX
 * model, our loader reads the safetensors), and only a file that passed is renamed into place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeChecked } from "./checked_write.ts";
 * const dir = await Deno.makeTempDir();
 * await assert.rejects(
 *   writeChecked(`${dir}/a.bin`, new Uint8Array([1]), () => Promise.reject(new Error("bad"))),
 *   /bad/,
 * );
 * assert.deepEqual([...Deno.readDirSync(dir)], []); // nothing left behind
 * await writeChecked(`${dir}/a.bin`, new Uint8Array([1]), async (tmp) => {
 *   assert.deepEqual([...await Deno.readFile(tmp)], [1]);
 * });
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.bin"]);
 * ```
 *
 * @module
 */
import { FileError } from "../errors.ts";

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

/**
 * Writes `data` to a temporary file beside `path` (its name ends in `suffix`, for readers that
 * go by extension), awaits `check(tmp)`, then renames it to `path`. When the write or the check
 * fails the temporary file is removed and `path` is untouched.
 *
 * @throws {FileError} naming `path` when it cannot be written; whatever `check` throws.
 */
export async function writeChecked(
  path: string,
  data: Uint8Array,
  check: (tmp: string) => Promise<void>,
  opts: { suffix?: string } = {},
): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp${opts.suffix ?? ""}`;
  try {
    try {
      await Deno.writeFile(tmp, data);
    } catch (err) {
      throw cannotWrite(path, err);
    }
    await check(tmp);
    try {
      await Deno.rename(tmp, path);
    } catch (err) {
      throw cannotWrite(path, err);
    }
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
