/**
 * What dataset readers and the linter report about files: one problem per line, with a
 * severity. Errors break training (NaN or zero loss, crashes); warnings deserve a look.
 *
 * @module
 */

/** `error`: the dataset is wrong and `ssd data check` exits 1; `warning`: worth a look. */
export type Severity = "error" | "warning";

/** One problem in one file. */
export interface DatasetProblem {
  /** The file the problem is in (annotation, label or image file; a folder for layout issues). */
  file: string;
  /** Whether it makes the dataset wrong (`error`) or is only worth a look (`warning`). */
  severity: Severity;
  /** What is wrong, one line, without the file name. */
  message: string;
}

/** Collects problems while reading; readers never stop at the first one. */
export class ProblemList {
  readonly items: DatasetProblem[] = [];
  readonly #filesWithErrors = new Set<string>();

  /** Records an error in `file`. */
  error(file: string, message: string): void {
    this.items.push({ file, severity: "error", message });
    this.#filesWithErrors.add(file);
  }

  /** Records a problem found elsewhere (another list's item). */
  add(problem: DatasetProblem): void {
    if (problem.severity === "error") this.error(problem.file, problem.message);
    else this.warn(problem.file, problem.message);
  }

  /** Whether an error has been recorded in `file` (constant time). */
  hasError(file: string): boolean {
    return this.#filesWithErrors.has(file);
  }

  /** Records a warning in `file`. */
  warn(file: string, message: string): void {
    this.items.push({ file, severity: "warning", message });
  }
}

/** Formats a box's numbers compactly for messages: `[12, 30.5, 80, 95]`. */
export function formatBox(box: readonly number[]): string {
  return `[${box.map((v) => Number.isInteger(v) ? String(v) : String(+v.toFixed(3))).join(", ")}]`;
}
