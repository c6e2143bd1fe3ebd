import { Command } from "@commander-js/extra-typings";

/**
 * `ssd priors --model M [--json] [--dump FILE]`: the default boxes of a model, one row per
 * source feature map (map size, boxes per cell, count, scale) and the total. `--json` prints
 * `{"model","total","hash","layers":[{"size":[h,w],"boxesPerCell","count","scale"}]}`;
 * `--dump FILE` writes every prior `[[cx, cy, w, h], …]` (normalized) as JSON.
 */
export function priorsCommand() {
  return new Command("priors")
    .description("list the default boxes (priors) of a model: per-layer counts and the total")
    .requiredOption(
      "--model <model>",
      "a model name (ssd300, ssd512, ssd300-coco, ssdlite320, tiny, face-slim-320, …), " +
        "a .safetensors or a .pth file",
    )
    .option("--arch <name>", "the config a .pth or .safetensors file follows (default: inferred)")
    .option("--json", "print the table as JSON")
    .option("--dump <file>", "write all priors [[cx, cy, w, h], …] (normalized) as JSON")
    .action(async (opts) => {
      const { modelWeightsFile, resolveConfig } = await import("../lib/model/load.ts");
      if (opts.dump !== undefined) {
        const { checkWritableFile, refuseOverwriting } = await import("../lib/io/atomic.ts");
        const weights = modelWeightsFile(opts.model);
        refuseOverwriting(weights === undefined ? [] : [weights], [opts.dump]);
        await checkWritableFile(opts.dump);
      }
      // UsageError (exit 2) listing the known models; FileError for a bad weight file.
      const cfg = await resolveConfig(opts.model, { arch: opts.arch });
      const { generatePriors, priorLayerCounts, priorsHash } = await import("../lib/priors.ts");
      const layers = priorLayerCounts(cfg);
      const priors = generatePriors(cfg); // [P, 4] cxcywh
      const total = priors.length / 4;
      const hash = priorsHash(priors);
      if (opts.dump !== undefined) await writeDump(opts.dump, priors);
      if (opts.json) {
        console.log(JSON.stringify({ model: cfg.name, total, hash, layers }));
      } else {
        console.log(formatTable(cfg.name, cfg.imageSize, layers, { total, hash }));
      }
      if (opts.dump !== undefined) console.error(`wrote ${total} priors to ${opts.dump}`);
    });
}

interface Row {
  size: [number, number];
  boxesPerCell: number;
  count: number;
  scale: number;
}

function formatTable(
  name: string,
  imageSize: [number, number],
  layers: Row[],
  summary: { total: number; hash: string },
): string {
  const header = ["layer", "map", "boxes/cell", "count", "scale"];
  const rows = layers.map((l, k) => [
    String(k),
    `${l.size[0]}×${l.size[1]}`,
    String(l.boxesPerCell),
    String(l.count),
    l.scale.toFixed(4),
  ]);
  rows.push(["total", "", "", String(summary.total), ""]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r.map((v, c) => (c === 0 || c === 1 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ")
      .trimEnd();
  return [
    `${name}: input ${imageSize[0]}×${imageSize[1]} (H×W), priors hash ${summary.hash}`,
    line(header),
    ...rows.map(line),
  ].join("\n");
}

/** Writes the priors as JSON to a temporary file, then renames it into place. */
async function writeDump(file: string, priors: Float32Array): Promise<void> {
  const rows: string[] = [];
  // The shortest decimal that reads back as the same float32 (at most 9 digits).
  const num = (v: number) => {
    for (let digits = 1; digits < 9; digits++) {
      const short = Number(v.toPrecision(digits));
      if (Math.fround(short) === v) return String(short);
    }
    return String(Number(v.toPrecision(9)));
  };
  for (let i = 0; i < priors.length; i += 4) {
    rows.push(
      `[${num(priors[i])},${num(priors[i + 1])},${num(priors[i + 2])},${num(priors[i + 3])}]`,
    );
  }
  const { writeFileAtomic } = await import("../lib/io/atomic.ts");
  await writeFileAtomic(file, `[${rows.join(",\n")}]\n`);
}
