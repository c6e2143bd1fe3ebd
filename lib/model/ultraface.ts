/**
 * UltraFace slim-320 and RFB-320 (Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB @ dffdddda,
 * MIT), exactly as `../shared/data/ultraface/ARCHITECTURE.md` describes them; parameter names
 * follow the repository's state dicts.
 *
 * - `base_net.0`: conv_bn(3 → 16, stride 2); `base_net.1…12`: conv_dw (depthwise 3×3 `.0` +
 *   BN `.1` + ReLU, pointwise 1×1 `.3` + BN `.4` + ReLU). RFB replaces `base_net.7` with a
 *   BasicRFB(64, 64, scale 1.0).
 * - Sources: after `base_net.7` (30×40, 64 ch), `.10` (15×20, 128), `.12` (8×10, 256) and
 *   `extras.0` (4×5, 256): 1×1 conv 256 → 64 + ReLU, SeperableConv2d(64 → 256, stride 2) + ReLU.
 * - Heads 0–2: SeperableConv2d (depthwise 3×3 with bias `.0`, ReLU, 1×1 with bias `.2`);
 *   head 3: a plain 3×3 conv. Anchors 3, 2, 2, 3; 2 classes.
 * - Every stride-2 conv pads 1 on each side (PyTorch), not TF `same` (ARCHITECTURE.md §10).
 * - BatchNorm eps 1e-5, not folded.
 *
 * @module
 */
import { boxesPerCell, type ModelConfig, numClasses } from "../config.ts";
import type { GraphBuilder, NetworkOutputs } from "./graph.ts";
import { activation, batchNorm, conv2d, type ConvSpec, type Layer, sequential } from "./layers.ts";
import { composeHead } from "./heads.ts";

/** conv (no bias) + BN + optional ReLU, with the child names of a Sequential (`.0`, `.1`). */
function convBn(
  g: GraphBuilder,
  names: [string, string],
  spec: ConvSpec,
  relu: boolean,
  momentum = 0.1,
): Layer {
  const layers = [
    conv2d(g, names[0], { ...spec, bias: false }),
    batchNorm(g, names[1], { channels: spec.outChannels, eps: 1e-5, momentum }),
  ];
  if (relu) layers.push(activation(g, "relu"));
  return sequential(...layers);
}

/** mb_tiny `conv_dw(inp, oup, stride)`. */
function convDw(g: GraphBuilder, p: string, inC: number, outC: number, stride: number): Layer {
  return sequential(
    convBn(g, [`${p}.0`, `${p}.1`], {
      inChannels: inC,
      outChannels: inC,
      kernel: 3,
      stride,
      padding: 1,
      depthwise: true,
    }, true),
    convBn(g, [`${p}.3`, `${p}.4`], { inChannels: inC, outChannels: outC, kernel: 1 }, true),
  );
}

/** `BasicConv(in, out, k, s, p, dilation, relu)` of mb_tiny_RFB: `.conv` + `.bn` (momentum 0.01). */
function basicConv(g: GraphBuilder, p: string, spec: ConvSpec, relu: boolean): Layer {
  return convBn(g, [`${p}.conv`, `${p}.bn`], spec, relu, 0.01);
}

/** `BasicRFB(64, 64, stride=1, scale=1.0)`: three dilated branches, concat, 1×1, + shortcut, ReLU. */
function basicRfb(g: GraphBuilder, p: string): Layer {
  // [in, out, kernel, padding, dilation, relu] per BasicConv of each branch.
  const branches: [number, number, number, number, number, boolean][][] = [
    [[64, 8, 1, 0, 1, false], [8, 16, 3, 1, 1, true], [16, 16, 3, 2, 2, false]],
    [[64, 8, 1, 0, 1, false], [8, 16, 3, 1, 1, true], [16, 16, 3, 3, 3, false]],
    [[64, 8, 1, 0, 1, false], [8, 12, 3, 1, 1, true], [12, 16, 3, 1, 1, true], [
      16,
      16,
      3,
      5,
      5,
      false,
    ]],
  ];
  const paths = branches.map((convs, b) =>
    sequential(
      ...convs.map(([inC, outC, kernel, padding, dilation, relu], j) =>
        basicConv(g, `${p}.branch${b}.${j}`, {
          inChannels: inC,
          outChannels: outC,
          kernel,
          padding,
          dilation,
        }, relu)
      ),
    )
  );
  const convLinear = basicConv(
    g,
    `${p}.ConvLinear`,
    { inChannels: 48, outChannels: 64, kernel: 1 },
    false,
  );
  const shortcut = basicConv(
    g,
    `${p}.shortcut`,
    { inChannels: 64, outChannels: 64, kernel: 1 },
    false,
  );
  const relu = activation(g, "relu");
  return (x) => {
    const cat = g.node({ op: "concat", inputs: paths.map((path) => path(x)) }); // [B, H, W, 48]
    const linear = convLinear(cat);
    return relu(g.node({ op: "add", inputs: [linear, shortcut(x)] })); // scale = 1.0
  };
}

/** `SeperableConv2d(in, out, k=3, s, p=1)`: depthwise (bias) `.0`, ReLU, 1×1 (bias) `.2`. */
function separable(g: GraphBuilder, p: string, inC: number, outC: number, stride = 1): Layer {
  return sequential(
    conv2d(g, `${p}.0`, {
      inChannels: inC,
      outChannels: inC,
      kernel: 3,
      stride,
      padding: 1,
      depthwise: true,
    }),
    activation(g, "relu"),
    conv2d(g, `${p}.2`, { inChannels: inC, outChannels: outC, kernel: 1 }),
  );
}

/** Describes UltraFace slim (`ultraface_slim`) or RFB (`ultraface_rfb`) for `cfg` in `g`. */
export function describeUltraface(g: GraphBuilder, cfg: ModelConfig): NetworkOutputs {
  if (cfg.priors.layers.length !== 4) {
    throw new RangeError(
      `Cannot build UltraFace "${cfg.name}": expected 4 source maps, got ${cfg.priors.layers.length}`,
    );
  }
  const rfb = cfg.arch === "ultraface_rfb";
  // [in, out, stride] of conv_dw 1…12.
  const dw: [number, number, number][] = [
    [16, 32, 1],
    [32, 32, 2],
    [32, 32, 1],
    [32, 64, 2],
    [64, 64, 1],
    [64, 64, 1],
    [64, 64, 1],
    [64, 128, 2],
    [128, 128, 1],
    [128, 128, 1],
    [128, 256, 2],
    [256, 256, 1],
  ];
  const base: Layer[] = [
    convBn(g, ["base_net.0.0", "base_net.0.1"], {
      inChannels: 3,
      outChannels: 16,
      kernel: 3,
      stride: 2,
      padding: 1,
    }, true),
  ];
  dw.forEach(([inC, outC, stride], k) => {
    const i = k + 1;
    base.push(
      rfb && i === 7 ? basicRfb(g, "base_net.7") : convDw(g, `base_net.${i}`, inC, outC, stride),
    );
  });
  const stage0 = sequential(...base.slice(0, 8));
  const stage1 = sequential(...base.slice(8, 11));
  const stage2 = sequential(...base.slice(11, 13));
  const extras = sequential(
    conv2d(g, "extras.0.0", { inChannels: 256, outChannels: 64, kernel: 1 }),
    activation(g, "relu"),
    separable(g, "extras.0.2", 64, 256, 2),
    activation(g, "relu"),
  );
  const anchors = boxesPerCell(cfg);
  const c = numClasses(cfg);
  const channels = [64, 128, 256, 256];
  const headLayers = (prefix: string, columns: number) =>
    channels.map((ch, l) =>
      l < 3 ? separable(g, `${prefix}.${l}`, ch, columns * anchors[l]) : conv2d(
        g,
        `${prefix}.${l}`,
        { inChannels: ch, outChannels: columns * anchors[l], kernel: 3, padding: 1 },
      )
    );
  const cls = headLayers("classification_headers", c);
  const reg = headLayers("regression_headers", 4);
  const head = composeHead(g, { cls, reg }, c);
  const s0 = stage0(g.input); // [B, 30, 40, 64]
  const s1 = stage1(s0); // [B, 15, 20, 128]
  const s2 = stage2(s1); // [B, 8, 10, 256]
  const s3 = extras(s2); // [B, 4, 5, 256]
  const sources = [s0, s1, s2, s3];
  return { sources, ...head(sources) };
}
