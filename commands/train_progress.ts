/**
 * What `ssd train` shows while it works: on a terminal, a bar per epoch with the step, the loss
 * parts, the learning rate, images per second and the ETA; otherwise (a log file, CI) one line
 * per epoch. `--json` prints one line per step on stdout instead; `--quiet` shows nothing.
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";
import type { StepInfo } from "../lib/train/loop.ts";
import type { MetricRow } from "../lib/train/checkpoint.ts";

/** Seconds as `1h02m`, `4m05s` or `12s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const t = Math.round(s);
  if (t >= 3600) {
    return `${Math.floor(t / 3600)}h${String(Math.floor(t / 60) % 60).padStart(2, "0")}m`;
  }
  if (t >= 60) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s`;
  return `${t}s`;
}

const fmt = (v: number | undefined, digits = 3) => v === undefined ? "–" : v.toFixed(digits);

/** One epoch's line. */
export function epochLine(row: MetricRow, epochs: number, totalSteps: number): string {
  const val = row.mapVoc07 !== undefined
    ? `  val mAP VOC07 ${fmt(row.mapVoc07)}, AP50 ${fmt(row.mapVoc)}` +
      (row.apCoco !== undefined ? `, COCO AP ${fmt(row.apCoco)}` : "")
    : "";
  return `epoch ${row.epoch}/${epochs}  step ${row.step}/${totalSteps}  loss ${fmt(row.loss)} ` +
    `(loc ${fmt(row.locLoss)}, cls ${fmt(row.clsLoss)})  lr ${row.lr.toExponential(2)}  ` +
    `${formatDuration(row.seconds)}${val}`;
}

/** Progress output of one run. */
export class TrainProgress {
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #json: boolean;
  #bar: cliProgress.SingleBar | null = null;
  #barEpoch = -1;
  #epochs = 0;
  #totalSteps = 0;

  constructor(opts: { quiet: boolean; json: boolean }) {
    this.#quiet = opts.quiet;
    this.#json = opts.json;
    this.#tty = Deno.stderr.isTerminal();
  }

  step(s: StepInfo): void {
    this.#epochs = s.epochs;
    this.#totalSteps = s.totalSteps;
    if (this.#json) {
      console.log(JSON.stringify({
        type: "step",
        epoch: s.epoch + 1,
        step: s.step,
        loss: s.loss,
        locLoss: s.locLoss,
        clsLoss: s.clsLoss,
        lr: s.lr,
        imagesPerSecond: Number(s.imagesPerSecond.toFixed(2)),
        tensors: s.tensors,
        rssMB: Math.round(Deno.memoryUsage().rss / 2 ** 20),
      }));
    }
    if (this.#quiet || !this.#tty) return;
    const payload = {
      ep: `${s.epoch + 1}/${s.epochs}`,
      loss: fmt(s.loss),
      loc: fmt(s.locLoss),
      cls: fmt(s.clsLoss),
      lr: s.lr.toExponential(2),
      ips: s.imagesPerSecond.toFixed(1),
      left: formatDuration(s.etaSeconds),
    };
    if (this.#bar === null || this.#barEpoch !== s.epoch) {
      this.#bar?.stop();
      this.#bar = new cliProgress.SingleBar({
        format: "epoch {ep} {bar} {value}/{total}  loss {loss} (loc {loc}, cls {cls})  " +
          "lr {lr}  {ips} img/s  ETA {left}",
        barsize: 24,
        stream: process.stderr,
        hideCursor: false,
        clearOnComplete: true,
      }, cliProgress.Presets.shades_classic);
      // an --iterations limit can end the run inside this epoch
      const epochStart = s.step - 1 - s.batch;
      const total = Math.min(s.batchesPerEpoch, s.totalSteps - epochStart);
      this.#bar.start(total, s.batch, payload);
      this.#barEpoch = s.epoch;
    }
    this.#bar.update(s.batch + 1, payload);
  }

  epoch(row: MetricRow): void {
    this.#bar?.stop();
    this.#bar = null;
    if (this.#json) console.log(JSON.stringify({ type: "epoch", ...row }));
    if (!this.#quiet) console.error(epochLine(row, this.#epochs, this.#totalSteps));
  }

  validationStart(epoch: number, images: number): void {
    this.#bar?.stop();
    this.#bar = null;
    if (!this.#quiet && this.#tty) console.error(`validating epoch ${epoch} on ${images} images…`);
  }

  note(line: string): void {
    this.#bar?.stop();
    this.#bar = null;
    if (!this.#quiet) console.error(line);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}
