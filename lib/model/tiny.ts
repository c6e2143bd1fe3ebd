/**
 * `tiny`: a small SSD of our own design for CPU training and tests. 160×160 input, thirteen
 * 3×3/1×1 conv + BatchNorm + ReLU layers (`backbone.layers.{i}.conv`, `.bn`), source maps
 * 20×20 (64 ch), 10×10 (128), 5×5, 3×3 and 1×1 (128 each), torchvision `SSDHead` 3×3 heads.
 * About 0.8 M parameters and 0.1 GMAC per image; plain convs only (no depthwise), so its
 * gradients are cheap on every backend.
 *
 * @module
 */
import { boxesPerCell, type ModelConfig, numClasses } from "../config.ts";
import type { Ref } from "./graph_ir.ts";
import type { GraphBuilder, NetworkOutputs } from "./graph.ts";
import { activation, batchNorm, conv2d, type Layer, sequential } from "./layers.ts";
import { ssdHead } from "./heads.ts";

/** [in, out, kernel, stride, padding] of each layer; sources after layers 4, 6, 8, 10, 12. */
const LAYERS: [number, number, number, number, number][] = [
  [3, 16, 3, 2, 1], // 80×80
  [16, 32, 3, 2, 1], // 40×40
  [32, 32, 3, 1, 1],
  [32, 64, 3, 2, 1], // 20×20
  [64, 64, 3, 1, 1], // → source 0
  [64, 128, 3, 2, 1], // 10×10
  [128, 128, 3, 1, 1], // → source 1
  [128, 64, 1, 1, 0],
  [64, 128, 3, 2, 1], // 5×5 → source 2
  [128, 64, 1, 1, 0],
  [64, 128, 3, 2, 1], // 3×3 → source 3
  [128, 64, 1, 1, 0],
  [64, 128, 3, 1, 0], // 1×1 → source 4
];
const SOURCE_AFTER = [4, 6, 8, 10, 12];

/** Describes the tiny SSD for `cfg` (5 source maps) in `g`. */
export function describeTinySsd(g: GraphBuilder, cfg: ModelConfig): NetworkOutputs {
  if (cfg.priors.layers.length !== 5) {
    throw new RangeError(
      `Cannot build tiny SSD "${cfg.name}": expected 5 source maps, got ${cfg.priors.layers.length}`,
    );
  }
  const layers: Layer[] = LAYERS.map(([inC, outC, kernel, stride, padding], i) =>
    sequential(
      conv2d(g, `backbone.layers.${i}.conv`, {
        inChannels: inC,
        outChannels: outC,
        kernel,
        stride,
        padding,
        bias: false,
        init: { kind: "kaimingNormalFanOut" },
      }),
      batchNorm(g, `backbone.layers.${i}.bn`, { channels: outC }),
      activation(g, "relu"),
    )
  );
  const head = ssdHead(g, {
    inChannels: SOURCE_AFTER.map((i) => LAYERS[i][1]),
    anchors: boxesPerCell(cfg),
    numClasses: numClasses(cfg),
  });
  const sources: Ref[] = [];
  let h = g.input;
  layers.forEach((layer, i) => {
    h = layer(h);
    if (SOURCE_AFTER.includes(i)) sources.push(h);
  });
  return { sources, ...head(sources) };
}
