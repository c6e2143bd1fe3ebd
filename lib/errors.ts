/** Control characters (a newline in a file name) would break the one-line error contract. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A path as messages show it: as is, or JSON-quoted with escapes when it holds control
 * characters (`"a\nb.jpg"`), so an error about it stays on one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { displayPath } from "./errors.ts";
 * assert.equal(displayPath("my photos/ä.jpg"), "my photos/ä.jpg");
 * assert.equal(displayPath("a\nb.jpg"), '"a\\nb.jpg"');
 * ```
 */
export function displayPath(path: string): string {
  return CONTROL.test(path) ? JSON.stringify(path) : path;
}

/** `text` on one line: line breaks (and the spaces around them) become one space. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

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

  /**
   * An error about `file`: the message is `<file>: <reason>`, the path shown by
   * {@link displayPath} and the reason on one line; `options.cause` keeps the error behind it.
   */
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(`${displayPath(file)}: ${oneLine(reason)}`, options);
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
  /** A usage error with `message`, which the CLI prints after `error: `. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A JSON value as an error message shows it: numbers JSON cannot hold (`1e99999` parses to
 * Infinity, which `JSON.stringify` would print as `null`) say what they are; long values are
 * cut to `max` characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showJsonValue } from "./errors.ts";
 * assert.equal(showJsonValue(JSON.parse("[1, 1e99999]")), "[1,Infinity (out of range)]");
 * assert.equal(showJsonValue(undefined), "nothing");
 * ```
 */
export function showJsonValue(value: unknown, max = 60): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(
    value,
    (_, v) => typeof v === "number" && !Number.isFinite(v) ? `\u0000${v}` : v,
  )?.replace(/"\\u0000(-?Infinity|NaN)"/g, "$1 (out of range)") ?? String(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
