/**
 * `ssd export --format torch`: the model's state dict as a `torch.save` file (`.pth`) that
 * torchvision's `ssd300_vgg16` / `ssdlite320_mobilenet_v3_large` (or the UltraFace classes, or
 * our tiny's PyTorch twin) load with `strict=True`. The written file is read back with our own
 * `.pth` reader and must hold the same tensors, bit for bit, before it is renamed into place.
 * Beside it goes `name.ssd.json`, the model's config (class names, priors, preprocessing), which
 * `--model name.pth` reads so the weights come back as the same model.
 *
 * @module
 */
import { FileError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { configSidecarPath } from "../model/load.ts";
import { readTorchStateDict } from "../io/torch.ts";
import type { SsdModel } from "../model/ssd.ts";
import { writeChecked } from "./checked_write.ts";
import { stateDictDifference } from "./safetensors.ts";
import { encodeTorchPth } from "./torch_pth.ts";

/**
 * Writes `model`'s state dict to `path` (ending in `.pth`), checked by reading it back.
 *
 * @throws {FileError} naming `path` when it cannot be written or does not read back the same.
 */
export async function writeTorchModel(
  model: SsdModel,
  path: string,
): Promise<{ bytes: number; tensors: number; config: string }> {
  const sd = model.stateDict();
  const bytes = encodeTorchPth(sd);
  await writeChecked(path, bytes, async (tmp) => {
    const problem = stateDictDifference(sd, await readTorchStateDict(tmp));
    if (problem) throw new FileError(path, `the written file does not read back: ${problem}`);
  }, { suffix: ".pth" });
  await writeFileAtomic(configSidecarPath(path), JSON.stringify(model.config, null, 2) + "\n");
  return { bytes: bytes.length, tensors: sd.size, config: configSidecarPath(path) };
}
