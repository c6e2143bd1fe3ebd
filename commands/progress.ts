/**
 * A progress bar for the CLI's long jobs (detecting on many images, evaluating a model,
 * drawing plots, checking a dataset): `i/N`, items per second and the ETA on stderr.
 *
 * The bar appears only on a terminal, without `--quiet`, and only once the job has run for
 * a second (a job that ends sooner shows nothing). Elsewhere (a log file, CI, a pipe) nothing is
 * drawn: the command prints its own summary line at the end, with {@link JobProgress.summary}.
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";
import { formatDuration } from "./train_progress.ts";

/** Options of {@link JobProgress}. */
export interface JobProgressOptions {
  /** What is being done, first on the bar: `detect`, `eval`, `plots`, `check`. */
  label: string;
  /** What is counted, plural: `images`, `plots`. */
  unit: string;
  /** Items in the job (0 when not known yet: set {@link JobProgress.total} later). */
  total: number;
  /** No bar at all (`--quiet`). */
  quiet: boolean;
  /** Milliseconds before the bar shows (default 1000). */
  delayMs?: number;
  /** Draw even when stderr is not a terminal (tests). Default: `Deno.stderr.isTerminal()`. */
  terminal?: boolean;
}

/** Counts a job's items and shows a bar for it on a terminal. */
export class JobProgress {
  readonly #opts: JobProgressOptions;
  readonly #tty: boolean;
  readonly #started = performance.now();
  #done = 0;
  #total: number;
  #bar: cliProgress.SingleBar | null = null;

  constructor(opts: JobProgressOptions) {
    this.#opts = opts;
    this.#total = opts.total;
    this.#tty = !opts.quiet && (opts.terminal ?? Deno.stderr.isTerminal());
  }

  /** Items in the job. */
  get total(): number {
    return this.#total;
  }

  set total(n: number) {
    this.#total = n;
    this.#bar?.setTotal(n);
  }

  /** Items done so far. */
  get done(): number {
    return this.#done;
  }

  /** Seconds since the job started. */
  get seconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** Marks `n` more items done (default 1). */
  tick(n = 1): void {
    this.#done += n;
    if (!this.#tty) return;
    const payload = this.#payload();
    if (this.#bar === null) {
      if (performance.now() - this.#started < (this.#opts.delayMs ?? 1000)) return;
      if (this.#done >= this.#total) return; // done already: no bar to flash and clear
      this.#bar = new cliProgress.SingleBar({
        format: `${this.#opts.label} {bar} {value}/{total} ${this.#opts.unit}  ` +
          `{rate} ${this.#opts.unit}/s  ETA {left}`,
        barsize: 24,
        stream: process.stderr,
        hideCursor: false,
        clearOnComplete: true,
        forceRedraw: true,
        fps: 5,
      }, cliProgress.Presets.shades_classic);
      this.#bar.start(this.#total, this.#done, payload);
      return;
    }
    this.#bar.update(this.#done, payload);
  }

  /**
   * Runs `print` (which writes to stdout, or a note to stderr) with the bar lifted off the
   * terminal line first and drawn again after, so the two never share a line.
   */
  print(print: () => void): void {
    if (this.#bar === null) return print();
    Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
    print();
    this.#bar.render(); // forceRedraw: drawn even though nothing changed
  }

  /** Removes the bar (call before the summary, also after a failure). */
  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }

  /** `160 images in 27.0 s (5.9 images/s)`: what a log gets instead of the bar. */
  summary(): string {
    const s = this.seconds;
    const rate = s > 0 ? this.#done / s : 0;
    return `${this.#done} ${this.#opts.unit} in ${s.toFixed(1)} s ` +
      `(${rate.toFixed(rate >= 10 ? 0 : 1)} ${this.#opts.unit}/s)`;
  }

  #payload(): { rate: string; left: string } {
    const s = this.seconds;
    const rate = s > 0 ? this.#done / s : 0;
    const left = rate > 0 ? (this.#total - this.#done) / rate : NaN;
    return { rate: rate.toFixed(rate >= 10 ? 0 : 1), left: formatDuration(left) };
  }
}
