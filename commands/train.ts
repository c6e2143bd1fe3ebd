import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { backendOption, parseInteger, parsePositiveInt } from "./options.ts";
import { defaultWorkers } from "../lib/data/loader.ts";

function parsePositive(value: string): number {
  const v = Number(value);
  if (value.trim() === "" || !(v > 0) || !Number.isFinite(v)) {
    throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  }
  return v;
}

function parseNonNegative(value: string): number {
  const v = Number(value);
  if (value.trim() === "" || !(v >= 0) || !Number.isFinite(v)) {
    throw new InvalidArgumentError(`expected a number ≥ 0, got "${value}"`);
  }
  return v;
}

function parseFraction(value: string): number {
  const v = Number(value);
  if (value.trim() === "" || !(v > 0 && v < 1)) {
    throw new InvalidArgumentError(`expected a fraction in (0, 1), got "${value}"`);
  }
  return v;
}

/** `ssd train`: the SSD training recipe on a VOC, COCO or YOLO dataset. */
export function trainCommand() {
  return new Command("train")
    .description(
      "train an SSD on a VOC, COCO or YOLO dataset: matching, MultiBox loss with hard negative " +
        "mining 3:1, the paper's augmentation, SGD; writes runs/train/NAME",
    )
    .option("-m, --model <model>", "architecture: a model name (fresh weights) or a weights file")
    .option(
      "--init <weights>",
      "weights to fine-tune from (a shipped model name or a file); classification heads are " +
        "re-initialised when its classes are not the dataset's",
    )
    .option(
      "--keep-heads",
      "start from --init's classification heads even for other class names (when the count " +
        "matches)",
    )
    .option("--arch <name>", "the config a .pth or .safetensors --model/--init follows")
    .option(
      "-d, --data <path>",
      "training set: VOC root, COCO instances JSON, or YOLO folder or data.yaml",
    )
    .option(
      "--set <name>",
      "image set or split of --data (default: trainval or train when present)",
    )
    .option("--val <path>", "validation set (default: the val/test list of --data when present)")
    .option("--val-set <name>", "image set of --val")
    .option(
      "--val-split <fraction>",
      "hold out this fraction of --data for validation",
      parseFraction,
    )
    .option("--epochs <n>", "epochs over the training set", parsePositiveInt, 100)
    .option("--iterations <n>", "total optimizer steps (instead of --epochs)", parsePositiveInt)
    .option("-b, --batch <n>", "images per step", parsePositiveInt, 16)
    .option("--lr <rate>", "base learning rate", parsePositive, 0.01)
    .addOption(
      new Option("--schedule <kind>", "learning-rate schedule after the warmup")
        .choices(["cosine", "multistep", "constant"] as const).default("cosine" as const),
    )
    .option(
      "--warmup <steps>",
      "linear warmup steps (default: one epoch, at most 1000)",
      parseInteger,
    )
    .option("--momentum <m>", "SGD momentum", parseNonNegative, 0.9)
    .option("--weight-decay <w>", "L2 weight decay on every parameter", parseNonNegative, 5e-4)
    .option("--freeze", "keep the backbone's weights fixed (train extras and heads)")
    .option("--no-augment", "no augmentation (the paper's crop, expand, flip, colour)")
    .option(
      "--val-every <epochs>",
      "validate every this many epochs (and after the last)",
      parseInteger,
      1,
    )
    .addOption(backendOption())
    .addOption(
      new Option(
        "--engine <name>",
        "what runs the training steps and validation: onnx (onnxruntime, the whole step as " +
          "one ONNX graph), " +
          "tfjs (the --backend), or auto: onnx on a CPU when the model's ops allow it, tfjs " +
          "on a GPU or when --backend is given",
      ).choices(["auto", "tfjs", "onnx"] as const).default("auto" as const),
    )
    .option("--seed <n>", "seed of the weights, order and augmentation", parseInteger, 0)
    .addOption(
      new Option("--workers <n>", "image-loading workers (0: main thread)")
        .argParser(parseInteger)
        .default(defaultWorkers(), "2, or 1 on a machine of 2 cores"),
    )
    .option("--project <dir>", "runs folder", "runs")
    .option("--name <name>", "run name under <project>/train (increments: exp, exp2, …)", "exp")
    .option("--resume <run>", "continue runs/train/NAME from its last checkpoint, exactly")
    .option("--json", "print one JSON line per step and a summary on stdout")
    .option("-q, --quiet", "no progress on stderr")
    .action(async (opts, cmd) => {
      const { runTrain } = await import("./train_run.ts");
      const given = (name: string) => cmd.getOptionValueSource(name) === "cli";
      await runTrain(opts, given);
    });
}
