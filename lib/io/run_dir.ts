/**
 * Runs folders, as users of detection tools expect them: `runs/<task>/<name>`, then
 * `<name>2`, `<name>3`, … — a new run never writes into an earlier one's folder. The folder is
 * claimed with a non-recursive `mkdir`, so two runs started at once cannot take the same one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRunDir } from "./run_dir.ts";
 * const root = await Deno.makeTempDir();
 * assert.equal(await makeRunDir(`${root}/runs/train`, "exp"), `${root}/runs/train/exp`);
 * assert.equal(await makeRunDir(`${root}/runs/train`, "exp"), `${root}/runs/train/exp2`);
 * assert.equal(await makeRunDir(`${root}/runs/train`, "exp"), `${root}/runs/train/exp3`);
 * ```
 *
 * @module
 */
import { FileError, UsageError } from "../errors.ts";

/**
 * Creates and returns the first free folder among `parent/name`, `parent/name2`, … (parents
 * are created as needed).
 *
 * @throws {UsageError} for a name with a path separator or `..`; {FileError} when the parent
 *   cannot be created.
 */
export async function makeRunDir(parent: string, name: string): Promise<string> {
  if (name === "" || /[\/\\]/.test(name) || name === "." || name === "..") {
    throw new UsageError(`--name must be a plain folder name, got "${name}"`);
  }
  try {
    await Deno.mkdir(parent, { recursive: true });
  } catch (err) {
    throw new FileError(parent, `cannot create the runs folder: ${(err as Error).name}`);
  }
  for (let k = 1; k < 100_000; k++) {
    const dir = `${parent}/${k === 1 ? name : `${name}${k}`}`;
    try {
      await Deno.mkdir(dir);
      return dir;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw new FileError(dir, `cannot create: ${(err as Error).name}`);
      }
    }
  }
  throw new FileError(parent, `no free run folder for "${name}"`);
}
