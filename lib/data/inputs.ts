/**
 * Expands the INPUT arguments of `ssd detect`: files, folders (their images, sorted) and globs
 * (`*`, `?`, `**`, `[abc]`; quoted so the shell leaves them to us).
 */
import { FileError } from "../errors.ts";
import { describeFsError } from "../io/read.ts";

/** File extensions treated as images when a folder or glob is expanded. */
export const IMAGE_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".png"];

/** What {@link expandInputs} found: image files in argument order, and the arguments that failed. */
export interface ExpandedInputs {
  /** Image paths, each once, in argument order (a folder's or glob's sorted by name). */
  files: string[];
  /** One per argument that is missing, unreadable or matches no image, naming the argument. */
  errors: FileError[];
}

const GLOB_CHARS = /[*?[]/;

function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Converts one glob path segment-sequence to a RegExp over `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        // `**/` matches zero or more whole directories; a trailing `**` matches anything.
        const slash = glob[i + 2] === "/";
        re += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

async function* walk(dir: string, rel: string, recursive: boolean): AsyncGenerator<string> {
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const e of entries) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    // A symlink counts as what it points to (a file to detect in); linked folders are not
    // followed, so a link cycle cannot loop.
    const isFile = e.isFile ||
      (e.isSymlink && (await Deno.stat(`${dir}/${e.name}`).catch(() => null))?.isFile);
    if (e.isDirectory && recursive) yield* walk(`${dir}/${e.name}`, path, true);
    else if (isFile) yield path;
  }
}

function describe(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file or folder";
  return describeFsError(err);
}

/**
 * Expands files, folders and globs into image paths, keeping argument order and dropping
 * duplicates. An argument that matches nothing or cannot be read becomes an error, and the
 * others are still expanded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandInputs } from "./inputs.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/b.png`, "");
 * await Deno.writeTextFile(`${dir}/a.jpg`, "");
 * await Deno.writeTextFile(`${dir}/notes.txt`, "");
 * await Deno.symlink(`${dir}/a.jpg`, `${dir}/c.jpg`);
 * const { files, errors } = await expandInputs([dir, `${dir}/*.png`, `${dir}/missing.jpg`]);
 * assert.deepEqual(files, [`${dir}/a.jpg`, `${dir}/b.png`, `${dir}/c.jpg`]);
 * assert.equal(errors.length, 1);
 * ```
 */
export async function expandInputs(args: string[]): Promise<ExpandedInputs> {
  const files: string[] = [];
  const errors: FileError[] = [];
  const seen = new Set<string>();
  const add = (f: string) => {
    if (!seen.has(f)) {
      seen.add(f);
      files.push(f);
    }
  };
  for (const arg of args) {
    try {
      if (!GLOB_CHARS.test(arg)) {
        const info = await Deno.stat(arg);
        if (!info.isDirectory) {
          add(arg);
          continue;
        }
        const dir = arg.replace(/\/+$/, "") || "/";
        let n = 0;
        for await (const rel of walk(dir, "", false)) {
          if (isImageName(rel)) add(`${dir}/${rel}`), n++;
        }
        if (n === 0) errors.push(new FileError(arg, "folder holds no .jpg, .jpeg or .png files"));
        continue;
      }
      // Split off the literal directory prefix, then walk below it.
      const parts = arg.split("/");
      const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
      const base = parts.slice(0, firstGlob).join("/") || (arg.startsWith("/") ? "/" : ".");
      const pattern = parts.slice(firstGlob).join("/");
      const re = globToRegExp(pattern);
      const recursive = pattern.includes("/") || pattern.includes("**");
      let n = 0;
      for await (const rel of walk(base, "", recursive)) {
        if (re.test(rel) && isImageName(rel)) {
          add(base === "." && !arg.startsWith("./") ? rel : `${base.replace(/\/$/, "")}/${rel}`);
          n++;
        }
      }
      if (n === 0) errors.push(new FileError(arg, "no image files match this pattern"));
    } catch (err) {
      errors.push(new FileError(arg, describe(err)));
    }
  }
  return { files, errors };
}
