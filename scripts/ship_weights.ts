/**
 * Turns a training checkpoint into a shipped model: `weights/<name>.safetensors` with the model
 * tensors only (no optimizer buffers, no training state), the config renamed to `<name>` so
 * `ssd detect --model <name>` shows it, and the provenance given on the command line.
 *
 *   deno run -A scripts/ship_weights.ts runs/train/exp/best.safetensors raccoon \
 *     --source "ssd train … (see weights/README.md)" [--score 0.4]
 *
 * `--score` sets the model's default detection threshold (`ssd detect` without `--score`): the
 * confidence where `ssd eval` found the best F1 on validation data suits a new class better than
 * the threshold of the model it was fine-tuned from.
 */
import { readCheckpoint } from "../lib/train/checkpoint.ts";
import { writeSafetensors } from "../lib/io/safetensors.ts";
import { weightsMetadata } from "../lib/model/weights_metadata.ts";
import { flag } from "./args.ts";

const [checkpoint, name] = Deno.args;
if (!checkpoint || !name || name.startsWith("--")) {
  console.error("usage: ship_weights.ts CHECKPOINT NAME [--source TEXT] [--score S]");
  Deno.exit(2);
}
const ckpt = await readCheckpoint(checkpoint);
const score = flag("--score", "");
const scoreThreshold = score === "" ? ckpt.config.postprocess.scoreThreshold : Number(score);
if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) {
  console.error(`--score must be a number in [0, 1], got ${JSON.stringify(score)}`);
  Deno.exit(2);
}
const postprocess = { ...ckpt.config.postprocess, scoreThreshold };
const config = { ...ckpt.config, name, postprocess };
const last = ckpt.state.history.at(-1);
const out = new URL(`../weights/${name}.safetensors`, import.meta.url).pathname;
await writeSafetensors(
  out,
  ckpt.stateDict,
  weightsMetadata(config, {
    trained_steps: String(ckpt.state.step),
    trained_epochs: String(last?.epoch ?? 0),
    source: flag("--source", `trained with ssd train (${checkpoint})`),
    license: "MIT (trained by this project)",
  }),
);
console.log(`${out}: ${ckpt.stateDict.size} tensors, step ${ckpt.state.step}`);
