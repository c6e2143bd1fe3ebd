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

import { dirname, resolve } from "node:path";
import { displayPath, FileError, UsageError } from "../errors.ts";
import { describeFsError } from "./read.ts";

function cannotWrite(path: string, err: unknown): FileError {
  const why = err instanceof Deno.errors.NotFound
    ? "its folder does not exist"
    : err instanceof Deno.errors.IsADirectory
    ? "it is a folder"
    : err instanceof Deno.errors.NotCapable
    ? "Deno may not write there (grant --allow-write)"
    : err instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : describeFsError(err).replace(/^cannot read: /, "");
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
      : err instanceof Deno.errors.NotCapable
      ? "Deno may not write there (grant --allow-write)"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : describeFsError(err).replace(/^cannot read: /, "");
    throw new FileError(dir, `cannot create the output folder: ${why}`, { cause: err });
  }
}

/**
 * Refuses outputs that would destroy something: an output over one of the `inputs` (compared
 * as real paths; `--coco-results` naming an input image or the model weights), two outputs of one run on the same
 * path (`--coco-results out/detections.json` beside `--out out`), or drawn images written into
 * a folder the inputs are read from (`--out .` beside the photos, which also pollutes a
 * dataset's image folder).
 *
 * @param inputs every file the run reads: images, and the model weights, annotations or
 *   results files it loads
 * @param outputDirs folders the run writes images into
 * @throws {UsageError} naming the first offending output.
 */
export function refuseOverwriting(
  inputs: string[],
  outputs: string[],
  outputDirs: string[] = [],
): void {
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
    const what = /\.(jpe?g|png)$/i.test(clash)
      ? "an input image"
      : /\.(safetensors|pth|pt)$/i.test(clash)
      ? "the model weights this run loads"
      : "an input file of this run";
    throw new UsageError(
      `${displayPath(clash)}: an output would overwrite ${what}; write the outputs somewhere else`,
    );
  }
  const seen = new Set<string>();
  for (const o of outputs) {
    if (seen.has(real(o))) {
      throw new UsageError(
        `${displayPath(o)}: two outputs of this run would be written to the same file`,
      );
    }
    seen.add(real(o));
  }
  // Only image inputs make a folder an image folder (weights, annotations and results beside
  // the drawn images are not mixed up with them).
  const images = [...inputSet].filter((p) => !/\.(safetensors|pth|pt|json|xml|txt)$/i.test(p));
  const inputDirs = new Set(images.map((p) => dirname(p)));
  const mixed = outputDirs.find((d) => inputDirs.has(real(d)));
  if (mixed !== undefined) {
    throw new UsageError(
      `${displayPath(mixed)}: the output folder holds input images; drawn images would mix ` +
        "with them (choose another folder)",
    );
  }
}

/**
 * Checks, before any work, that `path` can be written as a file: its folder exists and it is
 * not itself a folder.
 *
 * @throws {FileError} naming `path`.
 */
export async function checkWritableFile(path: string): Promise<void> {
  const info = await Deno.stat(path).catch(() => null);
  if (info?.isDirectory) throw new FileError(path, "cannot write: it is a folder");
  const parent = dirname(resolve(path));
  const dir = await Deno.stat(parent).catch(() => null);
  if (!dir?.isDirectory) throw new FileError(path, "cannot write: its folder does not exist");
}
