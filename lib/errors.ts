/**
 * Errors the library throws when a file on disk is wrong. The CLI prints them as one line,
 * `error: <file>: <what is wrong>`, and exits 1.
 *
 * Programming errors (a tensor of the wrong shape, a bad option value) stay `TypeError` and
 * `RangeError`, as in tfjs and torchvision.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileError } from "./errors.ts";
 * const err = new FileError("a.json", "not valid JSON");
 * assert.equal(err.message, "a.json: not valid JSON");
 * assert.equal(err.file, "a.json");
 * ```
 */
export class FileError extends Error {
  /** The file the problem is in. */
  readonly file: string;
  /** The problem, without the file name. */
  readonly reason: string;

  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(`${file}: ${reason}`, options);
    this.name = "FileError";
    this.file = file;
    this.reason = reason;
  }
}

/**
 * A wrong command line: an unknown model name, a missing flag, flags that do not go together.
 * The CLI prints it as `error: <message>` and exits 2.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
