/**
 * Converts the two UltraFace PyTorch state dicts into the shipped safetensors files:
 *
 *   deno run --allow-read --allow-write scripts/convert_ultraface.ts [SRC_DIR] [OUT_DIR]
 *
 * SRC_DIR defaults to `../shared/data/ultraface`, OUT_DIR to `weights`. Names and order are the
 * original state dict's, layouts stay PyTorch's (convs OIHW), all float32. The int64
 * `num_batches_tracked` buffers (unused at inference) are dropped; their values go into the
 * metadata as `dropped_num_batches_tracked`.
 *
 * @module
 */
import { readTorchStateDict } from "../lib/io/torch.ts";
import { writeSafetensors } from "../lib/io/safetensors.ts";
import type { StateDict } from "../lib/io/state_dict.ts";
import { getConfig } from "../lib/config.ts";
import { generatePriors, priorsHash } from "../lib/priors.ts";

const SOURCES = [
  { pth: "version-slim-320.pth", model: "face-slim-320", arch: "ultraface_slim" },
  { pth: "version-RFB-320.pth", model: "face-rfb-320", arch: "ultraface_rfb" },
];
const REPO = "Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB";
const COMMIT = "dffdddda";

async function md5Hex(bytes: Uint8Array): Promise<string> {
  // WebCrypto has no MD5; Deno's node:crypto does.
  const { createHash } = await import("node:crypto");
  return createHash("md5").update(bytes).digest("hex");
}

async function convert(srcDir: string, outDir: string) {
  await Deno.mkdir(outDir, { recursive: true });
  for (const { pth, model, arch } of SOURCES) {
    const path = `${srcDir}/${pth}`;
    const md5 = await md5Hex(await Deno.readFile(path));
    const sd = await readTorchStateDict(path);
    const kept: StateDict = new Map();
    const dropped: Record<string, number> = {};
    for (const [name, t] of sd) {
      if (name.endsWith("num_batches_tracked")) {
        dropped[name] = Number(t.data[0]);
        continue;
      }
      if (t.dtype !== "float32") {
        throw new Error(`${path}: ${name} is ${t.dtype}, expected float32`);
      }
      kept.set(name, t);
    }
    const metadata = {
      format: "pt",
      model,
      arch,
      source_repo: REPO,
      source_commit: COMMIT,
      source_file: `models/pretrained/${pth}`,
      source_md5: md5,
      license: "MIT (Copyright (c) 2019 linzai); see weights/README.md",
      classes: JSON.stringify(["background", "face"]),
      // The whole config (input, priors, pre- and post-processing) and the hash of the priors
      // it makes, so a loader can refuse weights paired with other priors.
      config: JSON.stringify(getConfig(model)),
      prior_hash: priorsHash(generatePriors(getConfig(model))),
      layout: "pytorch state dict names, conv weights OIHW, float32",
      dropped_num_batches_tracked: JSON.stringify(dropped),
    };
    const out = `${outDir}/${model}.safetensors`;
    await writeSafetensors(out, kept, metadata);
    const params = [...kept.values()].reduce((n, t) => n + t.data.length, 0);
    console.error(`${out}: ${kept.size} tensors, ${params} values, from ${pth} (md5 ${md5})`);
  }
}

if (import.meta.main) {
  await convert(Deno.args[0] ?? "../shared/data/ultraface", Deno.args[1] ?? "weights");
}
