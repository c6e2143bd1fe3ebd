/** Option parsers and options that several commands share. */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";

/** Parses a probability-like threshold in [0, 1]. */
export function parseUnit(value: string): number {
  const v = Number(value);
  if (value.trim() === "" || !(v >= 0 && v <= 1)) {
    throw new InvalidArgumentError(`expected a number in [0, 1], got "${value}"`);
  }
  return v;
}

/** Parses a positive integer. */
export function parsePositiveInt(value: string): number {
  const v = Number(value);
  if (value.trim() === "" || !Number.isInteger(v) || v < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return v;
}

/** Parses any integer (a seed). */
export function parseInteger(value: string): number {
  const v = Number(value);
  if (value.trim() === "" || !Number.isInteger(v)) {
    throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  }
  return v;
}

/** The `--backend` option every tensor command shares. */
export function backendOption() {
  return new Option("--backend <name>", "tfjs backend").choices(
    ["auto", "wasm", "webgpu", "cpu"] as const,
  ).default("auto" as const);
}

/** The `--engine` option of `detect` and `eval --model`. */
export function engineOption() {
  return new Option(
    "--engine <name>",
    "what runs the network: onnx (onnxruntime, the model exported in memory), tfjs (the " +
      "--backend), or auto: onnx for a .onnx model and on a CPU, tfjs on a GPU or when " +
      "--backend is given",
  ).choices(["auto", "tfjs", "onnx"] as const).default("auto" as const);
}

/**
 * The engine `loadDetector` gets: `auto` with an explicit `--backend` means that backend's
 * tfjs; otherwise the choice as given (`auto` is settled by `loadDetector`).
 */
export function resolveEngine(
  engine: "auto" | "tfjs" | "onnx",
  backend: "auto" | "wasm" | "webgpu" | "cpu",
): "auto" | "tfjs" | "onnx" {
  return engine === "auto" && backend !== "auto" ? "tfjs" : engine;
}
