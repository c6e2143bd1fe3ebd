/**
 * Model export: one entry per output format, each a function that writes a model to a path and
 * checks what it wrote before it is renamed into place. `ssd export --format F` dispatches here.
 *
 * Formats:
 * - `onnx`: `writeOnnx` (`onnx.ts`), checked in onnxruntime against the tfjs model;
 * - `safetensors`: `writeSafetensorsModel` (`safetensors.ts`), checked by loading it back;
 * - `tfjs`: `writeTfjsModel` (`tfjs_export.ts`), a TF.js graph model folder, checked by
 *   loading it in tfjs-converter;
 * - `torch`: `writeTorchModel` (`torch_export.ts`), a `torch.load`-able state dict, checked by
 *   reading it back.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { SsdModel } from "../model/ssd.ts";

/** Options every exporter takes (an exporter ignores what does not apply to it). */
export interface ExportOptions {
  /** ONNX: append NonMaxSuppression (output `selected`) with the config's thresholds. */
  nms?: boolean;
  /** Provenance text stored in the file's metadata. */
  source?: string;
}

/** What an export wrote and how it was checked. */
export interface ExportResult {
  format: ExportFormat;
  path: string;
  bytes: number;
  /** Check figures (ONNX: max |Δ| per output), for `--json`. */
  check: Record<string, unknown>;
  /** One line for people: what was written and checked. */
  summary: string;
}

/** Writes `model` to `out`; throws a FileError (nothing left at `out`) when that fails. */
export type Exporter = (model: SsdModel, out: string, opts: ExportOptions) => Promise<ExportResult>;

/** One output format. */
export interface ExportFormatSpec {
  /** The file name ending the output must have; `null` for a folder. */
  extension: string | null;
  description: string;
  /** The writer. */
  exporter: Exporter;
}

/** The formats `ssd export` knows, in help order. */
export const EXPORT_FORMAT_NAMES = ["onnx", "safetensors", "tfjs", "torch"] as const;
/** An export format name. */
export type ExportFormat = typeof EXPORT_FORMAT_NAMES[number];

const fmt = (v: number) => v.toExponential(1);

/** Each format's output and writer. */
export const EXPORT_FORMATS: Record<ExportFormat, ExportFormatSpec> = {
  onnx: {
    extension: ".onnx",
    description: "ONNX opset 17, NCHW, raw and decoded outputs, checked in onnxruntime",
    exporter: async (model, out, opts) => {
      const { writeOnnx } = await import("./onnx.ts");
      const { bytes, check } = await writeOnnx(model, out, { nms: opts.nms, source: opts.source });
      const d = check.maxAbsDiff;
      return {
        format: "onnx",
        path: out,
        bytes,
        check: { ...check },
        summary: `${out}: ${model.config.name} as ONNX, ${bytes} bytes; onnxruntime vs tfjs ` +
          `on ${check.batch} images: max |Δ| loc ${fmt(d.loc)}, logits ${fmt(d.logits)}, ` +
          `boxes ${fmt(d.boxes)}, scores ${fmt(d.scores)}`,
      };
    },
  },
  safetensors: {
    extension: ".safetensors",
    description: "the toolkit's weights (state dict + config metadata), checked by loading back",
    exporter: async (model, out, opts) => {
      const { writeSafetensorsModel } = await import("./safetensors.ts");
      const { bytes, tensors } = await writeSafetensorsModel(model, out, opts);
      return {
        format: "safetensors",
        path: out,
        bytes,
        check: { tensors, loadsBack: true },
        summary: `${out}: ${model.config.name}, ${tensors} tensors, ${bytes} bytes; ` +
          "loads back bit for bit",
      };
    },
  },
  tfjs: {
    extension: null,
    description: "TF.js graph model folder (model.json + weight shards), checked in tfjs-converter",
    exporter: async (model, out) => {
      const { writeTfjsModel } = await import("./tfjs_export.ts");
      const { bytes, files, check } = await writeTfjsModel(model, out);
      const d = check.maxAbsDiff;
      return {
        format: "tfjs",
        path: out,
        bytes,
        check: { ...check },
        summary: `${out}/: ${model.config.name} as a TF.js graph model, ${files} files, ` +
          `${bytes} bytes; tf.loadGraphModel vs the model on ${check.batch} images: ` +
          `max |Δ| loc ${fmt(d.loc)}, logits ${fmt(d.logits)}`,
      };
    },
  },
  torch: {
    extension: ".pth",
    description: "PyTorch state dict (torch.save), loads strictly into torchvision's SSD",
    exporter: async (model, out) => {
      const { writeTorchModel } = await import("./torch_export.ts");
      const { bytes, tensors, config } = await writeTorchModel(model, out);
      return {
        format: "torch",
        path: out,
        bytes,
        check: { tensors, readsBack: true, config },
        summary: `${out}: ${model.config.name} state dict, ${tensors} tensors, ${bytes} bytes; ` +
          `reads back bit for bit (config and class names in ${config})`,
      };
    },
  },
};

/**
 * Exports `model` as `format` to `out`.
 *
 * @throws {UsageError} for an unknown format or an output name without the format's ending; whatever the writer throws (a FileError naming `out`).
 */
export async function exportModel(
  model: SsdModel,
  format: ExportFormat,
  out: string,
  opts: ExportOptions = {},
): Promise<ExportResult> {
  const spec = checkExportTarget(format, out);
  return await spec.exporter(model, out, opts);
}

/**
 * Checks, before any work, that `format` is known and `out` has the format's ending.
 *
 * @throws {UsageError} otherwise.
 */
export function checkExportTarget(format: ExportFormat, out: string): ExportFormatSpec {
  const spec = EXPORT_FORMATS[format];
  if (!spec) {
    throw new UsageError(
      `unknown export format "${format}"; known: ${EXPORT_FORMAT_NAMES.join(", ")}`,
    );
  }
  if (spec.extension && !out.toLowerCase().endsWith(spec.extension)) {
    throw new UsageError(
      `--out ${out}: ${format} exports are files ending in ${spec.extension}`,
    );
  }
  return spec;
}
