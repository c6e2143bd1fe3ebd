import { Command } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";
import { backendOption, engineOption, parsePositiveInt, parseUnit } from "./options.ts";

/** `ssd detect INPUT…`: boxes, scores and labels for images. */
export function detectCommand() {
  return new Command("detect")
    .description(
      "detect objects in images (files, folders, globs): prints a summary (or JSON with --json) " +
        "and saves drawn images and detections.json to runs/detect/predict, predict2, …",
    )
    .argument("<input...>", "image files, folders of images, or quoted globs ('photos/**/*.jpg')")
    .option(
      "-m, --model <model>",
      "a shipped model name, a .safetensors or a .pth file",
      "face-slim-320",
    )
    .option("--arch <name>", "the config a .pth or .safetensors file follows (default: inferred)")
    .addOption(backendOption())
    .addOption(engineOption())
    .option("--score <t>", "keep detections scoring above this (default: the model's)", parseUnit)
    .option("--iou <t>", "per-class NMS IoU threshold (default: the model's)", parseUnit)
    .option("--max-det <n>", "most detections per image (default: the model's)", parsePositiveInt)
    .option("--classes <names>", "keep only these classes (comma-separated names)")
    .option("--json", "print the detections as JSON on stdout")
    .option(
      "--project <dir>",
      "runs folder: drawn images and detections.json go to <project>/detect/<name>",
      "runs",
    )
    .option("--name <name>", "run name under <project>/detect (increments: predict, predict2, …)")
    .option(
      "-o, --out <dir>",
      "write drawn images and detections.json to exactly this folder instead of a run folder",
    )
    .option("--no-save", "write no images or detections.json (results on stdout only)")
    .option("--coco-results <file>", "also write the detections as a COCO results JSON list")
    .option(
      "--line-width <px>",
      "box frame thickness (default: from the image size)",
      parsePositiveInt,
    )
    .option("--hide-labels", "draw frames without label tags")
    .option("--hide-conf", "draw tags without the score")
    .option("-q, --quiet", "no progress, speed line or notes on stderr")
    .action(async (inputs, opts, cmd) => {
      const given = (name: string) => cmd.getOptionValueSource(name) === "cli";
      if (!opts.save && (opts.out !== undefined || given("project") || given("name"))) {
        throw new UsageError(
          "--no-save writes no folder; it does not go with --out, --project or --name",
        );
      }
      if (opts.out !== undefined && (given("project") || given("name"))) {
        throw new UsageError(
          "--out names the folder exactly; it does not go with --project or --name",
        );
      }
      const { runDetect } = await import("./detect_run.ts");
      await runDetect(inputs, {
        model: opts.model,
        arch: opts.arch,
        backend: opts.backend,
        engine: opts.engine,
        score: opts.score,
        iou: opts.iou,
        maxDet: opts.maxDet,
        classes: opts.classes?.split(",").map((c) => c.trim()).filter((c) => c !== ""),
        json: opts.json ?? false,
        save: !opts.save
          ? { kind: "none" }
          : opts.out !== undefined
          ? { kind: "exact", dir: opts.out }
          : { kind: "run", project: opts.project, name: opts.name ?? "predict" },
        cocoResults: opts.cocoResults,
        draw: {
          lineWidth: opts.lineWidth,
          hideLabels: opts.hideLabels ?? false,
          hideConf: opts.hideConf ?? false,
        },
        quiet: opts.quiet ?? false,
      });
    });
}
