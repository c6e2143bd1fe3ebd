/**
 * Export to the toolkit's own weight format: a `.safetensors` file with the model's state dict
 * (PyTorch names and layout) and the metadata `--model` needs to rebuild it (config, class
 * names, prior hash), as shipped weights and checkpoints carry. The written file is read back
 * with `loadModel` and must give the same tensors, bit for bit, before it is renamed into place.
 *
 * @module
 */
import { FileError } from "../errors.ts";
import { serializeSafetensors } from "../io/safetensors.ts";
import type { StateDict } from "../io/state_dict.ts";
import { loadModel } from "../model/load.ts";
import type { SsdModel } from "../model/ssd.ts";
import { weightsMetadata } from "../model/weights_metadata.ts";
import { writeChecked } from "./checked_write.ts";

/** The first tensor that differs between two state dicts (names, shapes, dtypes, bits). */
export function stateDictDifference(a: StateDict, b: StateDict): string | undefined {
  for (const [name, t] of a) {
    const u = b.get(name);
    if (!u) return `${name} is missing`;
    if (t.dtype !== u.dtype || t.shape.join() !== u.shape.join()) {
      return `${name} is ${u.dtype} [${u.shape}], expected ${t.dtype} [${t.shape}]`;
    }
    const x = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const y = new Uint8Array(u.data.buffer, u.data.byteOffset, u.data.byteLength);
    if (x.length !== y.length || x.some((v, i) => v !== y[i])) return `${name} has other values`;
  }
  const extra = [...b.keys()].find((k) => !a.has(k));
  return extra === undefined ? undefined : `${extra} is unexpected`;
}

/**
 * Writes `model` to `path` (which must end in `.safetensors`), checked by loading it back.
 *
 * @throws {FileError} naming `path` when it cannot be written or does not load back the same.
 */
export async function writeSafetensorsModel(
  model: SsdModel,
  path: string,
  opts: { source?: string } = {},
): Promise<{ bytes: number; tensors: number }> {
  const cfg = model.config;
  const sd = model.stateDict();
  const bytes = serializeSafetensors(
    sd,
    weightsMetadata(cfg, opts.source ? { source: opts.source } : {}),
  );
  await writeChecked(path, bytes, async (tmp) => {
    const back = await loadModel(tmp);
    try {
      const problem = back.config.name !== cfg.name
        ? `it loads as ${back.config.name}, not ${cfg.name}`
        : stateDictDifference(sd, back.stateDict());
      if (problem) throw new FileError(path, `the written file does not load back: ${problem}`);
    } finally {
      back.dispose();
    }
  }, { suffix: ".safetensors" });
  return { bytes: bytes.length, tensors: sd.size };
}
