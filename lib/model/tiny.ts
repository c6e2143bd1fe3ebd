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
import { batchNorm, conv2d, type Layer, reluLayer, sequential } from "./layers.ts";
import type { ParamStore } from "./params.ts";
import { type Network, ssdHead } from "./heads.ts";

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

/** Builds the tiny SSD for `cfg` (5 source maps) in `store`. */
export function buildTinySsd(store: ParamStore, cfg: ModelConfig): Network {
  if (cfg.priors.layers.length !== 5) {
    throw new RangeError(
      `Cannot build tiny SSD "${cfg.name}": expected 5 source maps, got ${cfg.priors.layers.length}`,
    );
  }
  const layers: Layer[] = LAYERS.map(([inC, outC, kernel, stride, padding], i) =>
    sequential(
      conv2d(store, `backbone.layers.${i}.conv`, {
        inChannels: inC,
        outChannels: outC,
        kernel,
        stride,
        padding,
        bias: false,
        init: { kind: "kaimingNormalFanOut" },
      }),
      batchNorm(store, `backbone.layers.${i}.bn`, { channels: outC }),
      reluLayer,
    )
  );
  const head = ssdHead(store, {
    inChannels: SOURCE_AFTER.map((i) => LAYERS[i][1]),
    anchors: boxesPerCell(cfg),
    numClasses: numClasses(cfg),
  });
  return (x, training) => {
    const sources = [];
    let h = x;
    for (let i = 0; i < layers.length; i++) {
      h = layers[i](h, training);
      if (SOURCE_AFTER.includes(i)) sources.push(h);
    }
    return { sources, ...head(sources, training) };
  };
}
