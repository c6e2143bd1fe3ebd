/**
 * SSDLite320 on MobileNetV3-Large, laid out exactly as torchvision's
 * `ssdlite320_mobilenet_v3_large` (torchvision 0.14, `ssdlite.py`, `mobilenetv3.py`), whose
 * state dicts load by name. As torchvision builds it (with or without pretrained COCO weights)
 * the backbone has the reduced tail (C4 block 160 → 80 channels, last conv 480).
 *
 * - `backbone.features.0`: the stem (`.0`, 3×3 stride 2, hard-swish), inverted residuals
 *   `.1`…`.12`, and C4's expansion conv (`.13`) → source map 0 (20×20, 672 ch);
 * - `backbone.features.1`: the rest of C4 (`.0.{1,2,3}`: depthwise 5×5 stride 2, SE, project),
 *   blocks `.1`, `.2`, and the last 1×1 conv `.3` → source map 1 (10×10, 480 ch);
 * - `backbone.extra.{0…3}`: 1×1 (out/2) → depthwise 3×3 stride 2 → 1×1, BN + ReLU6 each
 *   → maps 5×5 (512), 3×3 (256), 2×2 (256), 1×1 (128);
 * - heads: torchvision `SSDLiteHead` (depthwise 3×3 + BN + ReLU6, then 1×1).
 *
 * Every conv is followed by BatchNorm(eps 0.001) except the heads' last 1×1 and the SE convs.
 * Init: N(0, 0.03) for every conv (torchvision's `_normal_init` without a pretrained backbone).
 *
 * @module
 */
import type { ModelConfig } from "../config.ts";
import { boxesPerCell, numClasses } from "../config.ts";
import type { GraphBuilder, NetworkOutputs } from "./graph.ts";
import { activation, batchNorm, conv2d, type Layer, sequential, squeezeExcite } from "./layers.ts";
import type { Init } from "./params.ts";
import { ssdliteHead } from "./heads.ts";

const EPS = 0.001; // torchvision ssdlite: BatchNorm2d(eps=0.001, momentum=0.03)
const INIT: Init = { kind: "normal", std: 0.03 };

type Act = "RE" | "HS" | "RE6" | null;
const ACTS = { RE: "relu", HS: "hardSwish", RE6: "relu6" } as const;

/** torchvision `Conv2dNormActivation`: `{name}.0` conv (no bias, padding (k−1)/2), `{name}.1` BN, act. */
function convBnAct(
  g: GraphBuilder,
  name: string,
  spec: {
    inChannels: number;
    outChannels: number;
    kernel: number;
    stride?: number;
    depthwise?: boolean;
  },
  act: Act,
): Layer {
  const layers = [
    conv2d(g, `${name}.0`, {
      ...spec,
      padding: (spec.kernel - 1) / 2,
      bias: false,
      init: INIT,
    }),
    batchNorm(g, `${name}.1`, { channels: spec.outChannels, eps: EPS, momentum: 0.03 }),
  ];
  if (act) layers.push(activation(g, ACTS[act]));
  return sequential(...layers);
}

/** torchvision `_make_divisible(v, 8)`. */
function makeDivisible(v: number, divisor = 8): number {
  let next = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (next < 0.9 * v) next += divisor;
  return next;
}

/** One row of MobileNetV3-Large's table: in, kernel, expanded, out, SE, activation, stride. */
type Bneck = [number, number, number, number, boolean, "RE" | "HS", number];

/** mobilenet_v3_large with reduced_tail=True (torchvision `_mobilenet_v3_conf`). */
const LARGE_REDUCED: Bneck[] = [
  [16, 3, 16, 16, false, "RE", 1],
  [16, 3, 64, 24, false, "RE", 2], // C1
  [24, 3, 72, 24, false, "RE", 1],
  [24, 5, 72, 40, true, "RE", 2], // C2
  [40, 5, 120, 40, true, "RE", 1],
  [40, 5, 120, 40, true, "RE", 1],
  [40, 3, 240, 80, false, "HS", 2], // C3
  [80, 3, 200, 80, false, "HS", 1],
  [80, 3, 184, 80, false, "HS", 1],
  [80, 3, 184, 80, false, "HS", 1],
  [80, 3, 480, 112, true, "HS", 1],
  [112, 3, 672, 112, true, "HS", 1],
  [112, 5, 672, 80, true, "HS", 2], // C4 (160 // 2)
  [80, 5, 480, 80, true, "HS", 1],
  [80, 5, 480, 80, true, "HS", 1],
];

/**
 * The layers of an `InvertedResidual` as named children: expand (when expanded ≠ in),
 * depthwise, SE, project. Returns the layers with their child index so C4 can be split.
 */
function invertedResidualParts(
  g: GraphBuilder,
  childName: (j: number) => string,
  row: Bneck,
): Layer[] {
  const [inC, kernel, exp, out, se, act, stride] = row;
  const parts: Layer[] = [];
  let j = 0;
  if (exp !== inC) {
    parts.push(
      convBnAct(g, childName(j++), { inChannels: inC, outChannels: exp, kernel: 1 }, act),
    );
  }
  parts.push(
    convBnAct(
      g,
      childName(j++),
      { inChannels: exp, outChannels: exp, kernel, stride, depthwise: true },
      act,
    ),
  );
  if (se) {
    parts.push(
      squeezeExcite(g, childName(j++), {
        channels: exp,
        squeeze: makeDivisible(exp / 4),
        init: INIT,
      }),
    );
  }
  parts.push(
    convBnAct(g, childName(j++), { inChannels: exp, outChannels: out, kernel: 1 }, null),
  );
  return parts;
}

/** An `InvertedResidual` block with its residual connection (stride 1, in = out). */
function invertedResidual(g: GraphBuilder, prefix: string, row: Bneck): Layer {
  const body = sequential(...invertedResidualParts(g, (j) => `${prefix}.block.${j}`, row));
  const residual = row[6] === 1 && row[0] === row[3];
  return residual ? (x) => g.node({ op: "add", inputs: [x, body(x)] }) : body;
}

/** Describes SSDLite320-MobileNetV3-Large for `cfg` (6 source maps) in `g`. */
export function describeMobilenetSsdlite(g: GraphBuilder, cfg: ModelConfig): NetworkOutputs {
  if (cfg.priors.layers.length !== 6) {
    throw new RangeError(
      `Cannot build SSDLite "${cfg.name}": expected 6 source maps, got ${cfg.priors.layers.length}`,
    );
  }
  const f0: Layer[] = [
    convBnAct(g, "backbone.features.0.0", {
      inChannels: 3,
      outChannels: 16,
      kernel: 3,
      stride: 2,
    }, "HS"),
  ];
  for (let i = 1; i <= 12; i++) {
    f0.push(invertedResidual(g, `backbone.features.0.${i}`, LARGE_REDUCED[i - 1]));
  }
  // C4 is split after its expansion conv: features.0.13 = block[0], features.1.0 = block[1:]
  // (nn.Sequential slicing keeps the child names 1, 2, 3).
  const c4 = invertedResidualParts(
    g,
    (j) => j === 0 ? "backbone.features.0.13" : `backbone.features.1.0.${j}`,
    LARGE_REDUCED[12],
  );
  const features0 = sequential(...f0, c4[0]);
  const features1 = sequential(
    ...c4.slice(1),
    invertedResidual(g, "backbone.features.1.1", LARGE_REDUCED[13]),
    invertedResidual(g, "backbone.features.1.2", LARGE_REDUCED[14]),
    convBnAct(
      g,
      "backbone.features.1.3",
      { inChannels: 80, outChannels: 480, kernel: 1 },
      "HS",
    ),
  );
  // torchvision `_extra_block(in, out)`: 1×1 to out/2, depthwise 3×3 stride 2, 1×1 to out.
  const extras = [[480, 512], [512, 256], [256, 256], [256, 128]].map(([inC, out], k) => {
    const p = `backbone.extra.${k}`;
    const mid = out / 2;
    return sequential(
      convBnAct(g, `${p}.0`, { inChannels: inC, outChannels: mid, kernel: 1 }, "RE6"),
      convBnAct(g, `${p}.1`, {
        inChannels: mid,
        outChannels: mid,
        kernel: 3,
        stride: 2,
        depthwise: true,
      }, "RE6"),
      convBnAct(g, `${p}.2`, { inChannels: mid, outChannels: out, kernel: 1 }, "RE6"),
    );
  });
  const head = ssdliteHead(g, {
    inChannels: [672, 480, 512, 256, 256, 128],
    anchors: boxesPerCell(cfg),
    numClasses: numClasses(cfg),
    eps: EPS,
  });
  const sources = [features0(g.input)];
  let h = features1(sources[0]);
  sources.push(h);
  for (const block of extras) {
    h = block(h);
    sources.push(h);
  }
  return { sources, ...head(sources) };
}
