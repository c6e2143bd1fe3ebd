import { Command, Option } from "@commander-js/extra-typings";
import { displayPath, FileError, UsageError } from "../lib/errors.ts";
import { parseInteger, parsePositiveInt } from "./options.ts";

/** `--classes a,b,c` or `--classes names.txt` (one name per line). */
async function readClasses(value: string | undefined): Promise<string[] | undefined> {
  if (value === undefined) return undefined;
  let isFile = false;
  try {
    isFile = (await Deno.stat(value)).isFile;
  } catch { /* not a file: a list */ }
  // A value that looks like a path (a folder separator or a names-file extension) is one.
  if (!isFile && /[\\/]|\.(txt|names|ya?ml)$/i.test(value)) {
    throw new FileError(
      value,
      "no such class-names file (give names as a,b,c or an existing file)",
    );
  }
  if (!isFile) return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  try {
    return (await Deno.readTextFile(value)).split(/\r?\n/).map((s) => s.trim()).filter((s) =>
      s !== ""
    );
  } catch (err) {
    throw new FileError(value, `cannot read class names: ${(err as Error).message}`);
  }
}

/** The flags every dataset-reading subcommand shares. */
function datasetCommand(name: string, description: string) {
  return new Command(name)
    .description(description)
    .argument("<dataset>", "a VOC root, a COCO instances JSON, or a YOLO folder or data.yaml")
    .option(
      "--set <name>",
      "VOC image set (ImageSets/Main/<set>.txt), YOLO split (data.yaml's <set>:, images/<set>/ " +
        "or <set>/images/) or COCO split (annotations/instances_<set>*.json, " +
        "<set>/_annotations.coco.json)",
    )
    .option(
      "--classes <list|file>",
      "class names: a,b,c or a file with one per line (default: the dataset's own; VOC: inferred)",
    )
    .option("--images <dir>", "COCO: the image folder (default: found beside the JSON)");
}

function checkCommand() {
  return datasetCommand(
    "check",
    "lint a dataset: bad boxes, missing or corrupt images, duplicates, unknown classes; exit 1 on errors",
  )
    .option("--json", "print the report as JSON")
    .option("--no-decode", "only check that image files exist (faster; finds no corrupt images)")
    .option("-q, --quiet", "no progress on stderr")
    .action(async (path, opts) => {
      const { checkDataset } = await import("../lib/data/check.ts");
      const { JobProgress } = await import("./progress.ts");
      const quiet = opts.quiet ?? false;
      const progress = new JobProgress({ label: "check", unit: "images", total: 0, quiet });
      let report;
      try {
        report = await checkDataset(path, {
          set: opts.set,
          classes: await readClasses(opts.classes),
          images: opts.images,
          decode: opts.decode,
          onProgress: (done, total) => {
            progress.total = total;
            progress.tick(done - progress.done);
          },
        });
      } finally {
        progress.stop();
      }
      // A long check says how long it took (on a terminal the bar showed it as it went).
      if (!quiet && progress.seconds > 2) console.error(`checked ${progress.summary()}`);
      for (const note of report.notes) console.error(`note: ${note}`);
      if (opts.json) {
        console.log(JSON.stringify(report, null, 1));
      } else {
        for (const p of report.problems) {
          console.log(
            `${displayPath(p.file)}: ${p.severity === "warning" ? "warning: " : ""}${p.message}`,
          );
        }
        console.log(
          `${report.root}: ${report.format}, ${report.images} images, ${report.objects} objects, ${report.classes.length} classes: ${report.errors} errors, ${report.warnings} warnings`,
        );
      }
      if (report.errors > 0) {
        throw new FileError(report.root, `${report.errors} errors found by ssd data check`);
      }
    });
}

function bar(count: number, max: number): string {
  return "#".repeat(max === 0 ? 0 : Math.round((30 * count) / max));
}

function statsCommand() {
  return datasetCommand("stats", "classes, instances, box size and aspect-ratio histograms")
    .option("--json", "print the statistics as JSON")
    .action(async (path, opts) => {
      const { readDataset } = await import("../lib/data/dataset.ts");
      const { datasetStats } = await import("../lib/data/stats.ts");
      const { dataset, problems, notes } = await readDataset(path, {
        set: opts.set,
        classes: await readClasses(opts.classes),
        images: opts.images,
      });
      for (const note of notes) console.error(`note: ${note}`);
      const errors = problems.filter((p) => p.severity === "error").length;
      if (errors > 0) {
        console.error(`note: ${errors} problems while reading; run \`ssd data check ${path}\``);
      }
      const stats = datasetStats(dataset);
      if (opts.json) {
        const finite = (h: { edges: number[]; counts: number[] }) => ({
          edges: h.edges.map((e) => Number.isFinite(e) ? e : null),
          counts: h.counts,
        });
        console.log(JSON.stringify(
          {
            ...stats,
            relativeSize: finite(stats.relativeSize),
            aspectRatio: finite(stats.aspectRatio),
          },
          null,
          1,
        ));
        return;
      }
      const size = stats.imageSize;
      console.log(`${dataset.root} (${dataset.format})`);
      console.log(
        `images ${stats.images} (${stats.emptyImages} without objects), objects ${stats.objects}` +
          (size ? `, sizes ${size.min.join("×")} … ${size.max.join("×")}` : ""),
      );
      console.log("\nclass                 instances  images  difficult");
      for (const c of stats.classes) {
        console.log(
          `${c.name.padEnd(20)} ${String(c.instances).padStart(10)} ${
            String(c.images).padStart(7)
          } ${String(c.difficult).padStart(10)}`,
        );
      }
      const hist = (title: string, h: { edges: number[]; counts: number[] }, digits: number) => {
        console.log(`\n${title}`);
        const max = Math.max(...h.counts);
        h.counts.forEach((n, i) => {
          const hi = h.edges[i + 1];
          const range = `${h.edges[i].toFixed(digits)}–${
            Number.isFinite(hi) ? hi.toFixed(digits) : "∞"
          }`;
          console.log(`${range.padStart(13)} ${String(n).padStart(7)} ${bar(n, max)}`);
        });
      };
      hist("box size, sqrt(box area / image area)", stats.relativeSize, 2);
      hist("aspect ratio w/h", stats.aspectRatio, 2);
      const a = stats.areaRanges;
      console.log(`\nCOCO areas: small ${a.small}, medium ${a.medium}, large ${a.large}`);
    });
}

function showCommand() {
  return datasetCommand(
    "show",
    "draw the ground truth at a model's input size (optionally augmented as in training) and a mosaic",
  )
    .requiredOption("--out <dir>", "folder for the drawn PNGs (one per image, and mosaic.png)")
    .option(
      "-m, --model <model>",
      "draw at this model's input size and normalization (a shipped name or weights file)",
      "ssd300",
    )
    .option("--arch <name>", "the config a .pth or .safetensors --model follows")
    .option("--n <count>", "how many images", parsePositiveInt, 16)
    .option("--augment", "draw training augmentations (the paper's pipeline) instead")
    .option("--seed <seed>", "seed of the sample choice and augmentation", parseInteger, 0)
    .option("-q, --quiet", "no progress or summary on stderr")
    .action(async (path, opts) => {
      const { showDataset } = await import("../lib/data/show.ts");
      const { resolveConfig } = await import("../lib/model/load.ts");
      const { JobProgress } = await import("./progress.ts");
      const cfg = await resolveConfig(opts.model, { arch: opts.arch });
      const quiet = opts.quiet ?? false;
      const progress = new JobProgress({ label: "show", unit: "images", total: 0, quiet });
      const result = await showDataset(path, {
        set: opts.set,
        classes: await readClasses(opts.classes),
        images: opts.images,
        out: opts.out,
        imageSize: cfg.imageSize,
        mean: cfg.preprocess.mean,
        std: cfg.preprocess.std,
        n: opts.n,
        augment: opts.augment ?? false,
        seed: opts.seed,
        onWritten: (file) => progress.print(() => console.log(file)),
        onError: (err) => progress.print(() => console.error(`error: ${err.message}`)),
        onProgress: (done, total) => {
          progress.total = total;
          progress.tick(done - progress.done);
        },
      }).finally(() => progress.stop());
      const [h, w] = cfg.imageSize;
      if (!quiet) {
        console.error(
          `wrote ${result.written} images at ${w}×${h} (${cfg.name}'s input) and a mosaic to ` +
            opts.out,
        );
      }
      if (result.failed > 0) {
        throw new FileError(path, `${result.failed} images could not be drawn`);
      }
    });
}

function synthCommand() {
  return new Command("synth")
    .description("write a synthetic detection dataset of shapes (same seed, same bytes)")
    .requiredOption("--out <dir>", "output folder")
    .option("--n <count>", "number of images", parsePositiveInt, 200)
    .option("--seed <seed>", "random seed", parseInteger, 0)
    .addOption(
      new Option("--format <format>", "annotation format").choices(["voc", "coco", "yolo"] as const)
        .default("voc" as const),
    )
    .option("--size <px>", "image side in pixels (32…4096)", parsePositiveInt, 160)
    .action(async (opts) => {
      const { writeSynthDataset } = await import("../lib/data/synth.ts");
      // The library checks n and size before it writes anything; a bad value is a usage error.
      const r = await writeSynthDataset({
        out: opts.out,
        n: opts.n,
        seed: opts.seed,
        format: opts.format,
        size: opts.size,
      }).catch((err) => {
        throw err instanceof RangeError ? new UsageError(err.message) : err;
      });
      console.log(`${r.root}: ${r.images} images, ${r.objects} objects (${opts.format})`);
    });
}

/**
 * `ssd data check|stats|show|synth`: lint, summarize, look at and make detection datasets
 * (VOC, COCO, YOLO).
 */
export function dataCommand() {
  return new Command("data")
    .description("datasets: check (lint), stats, show (draw ground truth), synth (make one)")
    .addCommand(checkCommand())
    .addCommand(statsCommand())
    .addCommand(showCommand())
    .addCommand(synthCommand());
}
