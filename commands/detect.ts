import { Command } from "@commander-js/extra-typings";
import { backendOption, parsePositiveInt, parseUnit } from "./options.ts";

/** `ssd detect INPUT…`: boxes, scores and labels for images. */
export function detectCommand() {
  return new Command("detect")
    .description(
      "detect objects in images (files, folders, globs); prints a summary, or JSON with --json",
    )
    .argument("<input...>", "image files, folders of images, or quoted globs ('photos/**/*.jpg')")
    .option(
      "-m, --model <model>",
      "a shipped model name, a .safetensors or a .pth file",
      "face-slim-320",
    )
    .option("--arch <name>", "the config a .pth or .safetensors file follows (default: inferred)")
    .addOption(backendOption())
    .option("--score <t>", "keep detections scoring above this (default: the model's)", parseUnit)
    .option("--iou <t>", "per-class NMS IoU threshold (default: the model's)", parseUnit)
    .option("--max-det <n>", "most detections per image (default: the model's)", parsePositiveInt)
    .option("--classes <names>", "keep only these classes (comma-separated names)")
    .option("--json", "print the detections as JSON on stdout")
    .option("-o, --out <dir>", "write drawn images and detections.json to this folder")
    .option("--coco-results <file>", "write the detections as a COCO results JSON list")
    .option("-q, --quiet", "no progress or speed line on stderr")
    .action(async (inputs, opts) => {
      const { runDetect } = await import("./detect_run.ts");
      await runDetect(inputs, {
        model: opts.model,
        arch: opts.arch,
        backend: opts.backend,
        score: opts.score,
        iou: opts.iou,
        maxDet: opts.maxDet,
        classes: opts.classes?.split(",").map((c) => c.trim()).filter((c) => c !== ""),
        json: opts.json ?? false,
        out: opts.out,
        cocoResults: opts.cocoResults,
        quiet: opts.quiet ?? false,
      });
    });
}
