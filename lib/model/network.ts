/**
 * `describeNetwork`: the layer graph of a {@linkcode ModelConfig}, the one description of each
 * architecture that the tfjs engine runs (`runGraph`) and the exporters walk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "../config.ts";
 * import { describeNetwork } from "./network.ts";
 * const graph = describeNetwork(getConfig("face-slim-320"));
 * assert.equal(graph.sources.length, 4);
 * assert.equal(graph.params[0].name, "base_net.0.0.weight");
 * const cls = graph.nodes[graph.clsLogits];
 * assert.ok(cls.op === "flattenHead" && cls.inputs.length === 4 && cls.columns === 2);
 * ```
 *
 * @module
 */
import type { Arch, ModelConfig } from "../config.ts";
import type { NetworkGraph } from "./graph_ir.ts";
import { GraphBuilder, type NetworkOutputs } from "./graph.ts";
import { graphShapes } from "./graph_shapes.ts";
import { describeMobilenetSsdlite } from "./mobilenet.ts";
import { describeTinySsd } from "./tiny.ts";
import { describeUltraface } from "./ultraface.ts";
import { describeVggSsd } from "./vgg.ts";

/** The graph builder of each architecture. */
const DESCRIBERS: Record<Arch, (g: GraphBuilder, cfg: ModelConfig) => NetworkOutputs> = {
  vgg16: describeVggSsd,
  mobilenet_v3_large: describeMobilenetSsdlite,
  tiny: describeTinySsd,
  ultraface_slim: describeUltraface,
  ultraface_rfb: describeUltraface,
};

/**
 * The layer graph of `cfg`'s network: nodes, parameters in creation order (the order that
 * seeds the init) and the source maps, checked against the priors of `cfg`.
 *
 * @throws {RangeError} when the architecture cannot serve `cfg` (another number of source
 * maps, or maps of another size than `cfg.priors.layers[i].featureSize`).
 */
export function describeNetwork(cfg: ModelConfig): NetworkGraph {
  const g = new GraphBuilder();
  const outputs = DESCRIBERS[cfg.arch](g, cfg);
  const graph = g.finish({ arch: cfg.arch, imageSize: cfg.imageSize, ...outputs });
  const shapes = graphShapes(graph);
  graph.sources.forEach((ref, i) => {
    const [, h, w] = shapes[ref];
    const [fh, fw] = cfg.priors.layers[i].featureSize;
    if (h !== fh || w !== fw) {
      throw new RangeError(
        `Cannot build ${cfg.name}: source map ${i} is ${h}×${w}, the priors expect ${fh}×${fw}`,
      );
    }
  });
  return graph;
}
