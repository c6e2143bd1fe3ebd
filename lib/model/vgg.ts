/**
 * SSD300 / SSD512 on VGG16, laid out exactly as torchvision's `ssd300_vgg16`
 * (`SSDFeatureExtractorVGG`, torchvision 0.14) so its state dicts load by name:
 *
 * - `backbone.features.{0…21}`: VGG16 conv1_1 … conv4_3 (3×3, padding 1, ReLU), max pools
 *   2×2 at 4, 9 and 16 (the third with `ceil_mode=True`: 75 → 38 for SSD300);
 * - `backbone.scale_weight`: L2Norm on conv4_3, per-channel scale initialised to 20;
 * - `backbone.extra.0`: pool4, conv5_1…5_3 (`.1`, `.3`, `.5`), then `.7`: pool5 3×3 stride 1
 *   padding 1, fc6 3×3 dilation 6 padding 6 (`.7.1`, 1024 ch), fc7 1×1 (`.7.3`, 1024 ch);
 * - `backbone.extra.{1…}`: 1×1 bottleneck (`.0`) + 3×3 conv (`.2`), ReLU after each.
 *   SSD300 (6 maps): conv8_2 and conv9_2 stride 2 padding 1, conv10_2 and conv11_2 no padding.
 *   SSD512 (7 maps, the paper's Caffe model): conv8_2…conv11_2 stride 2 padding 1, conv12_2
 *   4×4 padding 1 (torchvision's `highres` variant pads differently and gives 64…6, 4, 1 maps,
 *   not the paper's 64, 32, 16, 8, 4, 2, 1).
 * - heads: torchvision `SSDHead` (3×3 convs, (C + 4)·A filters per map).
 *
 * Init as torchvision: VGG convs kaiming-normal (fan out), fc6/fc7/extras/heads xavier-uniform,
 * biases 0.
 *
 * @module
 */
import { boxesPerCell, type ModelConfig, numClasses } from "../config.ts";
import type { GraphBuilder, NetworkOutputs } from "./graph.ts";
import {
  activation,
  conv2d,
  type ConvSpec,
  l2Norm,
  type Layer,
  maxPool,
  sequential,
} from "./layers.ts";
import type { Init } from "./params.ts";
import { ssdHead } from "./heads.ts";

/** VGG16 configuration "D" up to conv4_3: channels, or "M" / "C" (ceil-mode) max pools. */
const VGG_TO_CONV4_3: (number | "M" | "C")[] = [
  64,
  64,
  "M",
  128,
  128,
  "M",
  256,
  256,
  256,
  "C",
  512,
  512,
  512,
];

/** One conv + ReLU. */
function convRelu(g: GraphBuilder, name: string, spec: ConvSpec): Layer {
  return sequential(conv2d(g, name, spec), activation(g, "relu"));
}

/**
 * Describes the VGG16 SSD network of `cfg` (6 source maps: SSD300, 7: SSD512) in `g`.
 *
 * @throws {RangeError} for another number of source maps.
 */
export function describeVggSsd(g: GraphBuilder, cfg: ModelConfig): NetworkOutputs {
  const maps = cfg.priors.layers.length;
  if (maps !== 6 && maps !== 7) {
    throw new RangeError(
      `Cannot build VGG16 SSD "${cfg.name}": expected 6 (SSD300) or 7 (SSD512) source maps, got ${maps}`,
    );
  }
  const vggInit: Init = { kind: "kaimingNormalFanOut" };
  const xavier: Init = { kind: "xavierUniform" };
  const scale = l2Norm(g, "backbone.scale_weight", { channels: 512, scale: 20 });

  const features: Layer[] = [];
  let ch = 3;
  let index = 0; // torchvision module index: a conv and its ReLU take two
  for (const v of VGG_TO_CONV4_3) {
    if (v === "M" || v === "C") {
      features.push(maxPool(g, { kernel: 2, stride: 2, ceil: v === "C" }));
      index += 1;
      continue;
    }
    features.push(
      convRelu(g, `backbone.features.${index}`, {
        inChannels: ch,
        outChannels: v,
        kernel: 3,
        padding: 1,
        init: vggInit,
      }),
    );
    index += 2;
    ch = v;
  }
  const toConv4_3 = sequential(...features);

  const vgg3x3 = (name: string, init: Init) =>
    convRelu(g, name, { inChannels: 512, outChannels: 512, kernel: 3, padding: 1, init });
  const fc7Block = sequential(
    maxPool(g, { kernel: 2, stride: 2 }),
    vgg3x3("backbone.extra.0.1", vggInit),
    vgg3x3("backbone.extra.0.3", vggInit),
    vgg3x3("backbone.extra.0.5", vggInit),
    maxPool(g, { kernel: 3, stride: 1, padding: 1 }),
    convRelu(g, "backbone.extra.0.7.1", {
      inChannels: 512,
      outChannels: 1024,
      kernel: 3,
      padding: 6,
      dilation: 6,
      init: xavier,
    }),
    convRelu(g, "backbone.extra.0.7.3", {
      inChannels: 1024,
      outChannels: 1024,
      kernel: 1,
      init: xavier,
    }),
  );

  // [in, mid, out, kernel, stride, padding] of each extra block after fc7.
  const extraSpecs: number[][] = maps === 6
    ? [
      [1024, 256, 512, 3, 2, 1], // conv8_2 → 10×10
      [512, 128, 256, 3, 2, 1], // conv9_2 → 5×5
      [256, 128, 256, 3, 1, 0], // conv10_2 → 3×3
      [256, 128, 256, 3, 1, 0], // conv11_2 → 1×1
    ]
    : [
      [1024, 256, 512, 3, 2, 1], // conv8_2 → 16×16
      [512, 128, 256, 3, 2, 1], // conv9_2 → 8×8
      [256, 128, 256, 3, 2, 1], // conv10_2 → 4×4
      [256, 128, 256, 3, 2, 1], // conv11_2 → 2×2
      [256, 128, 256, 4, 1, 1], // conv12_2 → 1×1
    ];
  const extras = extraSpecs.map(([inC, mid, out, kernel, stride, padding], k) =>
    sequential(
      convRelu(g, `backbone.extra.${k + 1}.0`, {
        inChannels: inC,
        outChannels: mid,
        kernel: 1,
        init: xavier,
      }),
      convRelu(g, `backbone.extra.${k + 1}.2`, {
        inChannels: mid,
        outChannels: out,
        kernel,
        stride,
        padding,
        init: xavier,
      }),
    )
  );

  const head = ssdHead(g, {
    inChannels: [512, 1024, ...extraSpecs.map((s) => s[2])],
    anchors: boxesPerCell(cfg),
    numClasses: numClasses(cfg),
  });

  const conv4_3 = toConv4_3(g.input); // [B, 38, 38, 512] for SSD300
  const sources = [scale(conv4_3)];
  let h = fc7Block(conv4_3); // [B, 19, 19, 1024]
  sources.push(h);
  for (const block of extras) {
    h = block(h);
    sources.push(h);
  }
  return { sources, ...head(sources) };
}
