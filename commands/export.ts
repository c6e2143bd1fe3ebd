import { Command, Option } from "@commander-js/extra-typings";
import { EXPORT_FORMAT_NAMES } from "../lib/export/mod.ts";
import { backendOption } from "./options.ts";

/**
 * `ssd export --model M --format onnx|safetensors|tfjs|torch --out PATH`: writes a model in
 * another format, checks what it wrote (ONNX: onnxruntime against the tfjs model; safetensors:
 * loaded back), and renames it into place only then. Prints one summary line, or with `--json`
 * `{"format","path","bytes","check"}`.
 */
export function exportCommand() {
  return new Command("export")
    .description(
      "write a model as ONNX, a TF.js graph model, a PyTorch .pth or safetensors (each checked in the runtime that loads it before it is kept)",
    )
    .requiredOption(
      "-m, --model <model>",
      "a shipped model name, a .safetensors or a .pth file",
    )
    .addOption(
      new Option("-f, --format <format>", "output format")
        .choices(EXPORT_FORMAT_NAMES)
        .makeOptionMandatory(),
    )
    .requiredOption(
      "-o, --out <path>",
      "the file to write (.onnx, .pth, .safetensors), or the folder (tfjs)",
    )
    .option("--arch <name>", "the config a .pth or .safetensors file follows (default: inferred)")
    .option("--nms", "onnx: add NonMaxSuppression to the graph (output `selected`)")
    .addOption(backendOption())
    .option("--json", "print the result as JSON")
    .action(async (opts) => {
      const { checkExportTarget, exportModel } = await import("../lib/export/mod.ts");
      const { checkWritableFile, refuseOverwriting } = await import("../lib/io/atomic.ts");
      const { initBackend } = await import("../lib/engine/tfjs.ts");
      const { loadModel, modelWeightsFile } = await import("../lib/model/load.ts");
      const spec = checkExportTarget(opts.format, opts.out); // usage errors first
      refuseOverwriting([modelWeightsFile(opts.model) ?? []].flat(), [opts.out]);
      if (spec.extension !== null) await checkWritableFile(opts.out); // folders: the writer checks
      await initBackend(opts.backend);
      const model = await loadModel(opts.model, { arch: opts.arch });
      try {
        const result = await exportModel(model, opts.format, opts.out, {
          nms: opts.nms ?? false,
          source: `ssd export --model ${opts.model}`,
        });
        if (opts.json) {
          const { summary: _, ...rest } = result;
          console.log(JSON.stringify(rest));
        } else {
          console.log(result.summary);
        }
      } finally {
        model.dispose();
      }
    });
}
