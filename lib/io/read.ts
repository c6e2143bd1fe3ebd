/**
 * Reading files with one-line errors: the OS's wording (`No such file or directory (os error
 * 2): readfile '…'`) never reaches the user; a {@link FileError} names the file and says what
 * is wrong in a few words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFileChecked } from "./read.ts";
 * await assert.rejects(readFileChecked("no/such.json"), { message: "no/such.json: no such file" });
 * ```
 *
 * @module
 */
import { FileError } from "../errors.ts";

/**
 * A short reason for a failed file-system call: `no such file`, `permission denied`, `is a
 * directory, not a file`, or the OS's message without its `(os error N)` tail.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeFsError } from "./read.ts";
 * assert.equal(describeFsError(new Deno.errors.NotFound("x")), "no such file");
 * assert.equal(describeFsError(new Error("Too many open files (os error 24): open '/a'")),
 *   "cannot read: too many open files");
 * ```
 */
export function describeFsError(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file";
  if (err instanceof Deno.errors.NotCapable) return "Deno may not read it (grant --allow-read)";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory, not a file";
  const msg = err instanceof Error ? err.message : String(err);
  if (/is a directory/i.test(msg)) return "is a directory, not a file";
  if (/not a directory/i.test(msg)) return "a part of the path is a file, not a folder";
  const short = msg.replace(/\s*\(os error \d+\).*$/s, "").split("\n")[0];
  return `cannot read: ${short.charAt(0).toLowerCase()}${short.slice(1)}`;
}

/**
 * Reads a whole file.
 *
 * @throws {FileError} naming `path` when it cannot be read (see {@link describeFsError}).
 */
export async function readFileChecked(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new FileError(path, describeFsError(err), { cause: err });
  }
}

/**
 * Reads a whole file as UTF-8 text.
 *
 * @throws {FileError} naming `path` when it cannot be read.
 */
export async function readTextFileChecked(path: string): Promise<string> {
  return new TextDecoder().decode(await readFileChecked(path));
}
